import type { Ctx } from './client.js';
import { newId } from './ids.js';
import { scrubJson } from './scrub.js';
import type { Answer, BugReport } from './types.js';

/** Largest bug report sent (JSON, before gzip): a larger state is not sent at all rather than cut into invalid JSON. */
export const MAX_REPORT_BYTES = 1 << 20;

/**
 * Uploads a bug report tied to the session: the user's description, the app's state, the recent
 * breadcrumbs, and the ids that join it to the session's events (session, trace, user, release).
 * Gzipped by the platform's transport; strings scrubbed and deny-listed keys filtered like events.
 * Resolves true once the collector stored it; false before init, when too large, or on any failure
 * (a report is sent once, not queued: the user is there to try again).
 */
export function sendBugReport(x: Ctx | undefined, report?: BugReport | null): Promise<boolean> {
  return new Promise<Answer>((resolve) => {
    const id = newId();
    const json = JSON.stringify(
      {
        v: 1,
        id,
        kind: 'bug-report',
        ts: Date.now(),
        session: x!.session,
        trace: x!.session,
        release: x!.o.release,
        environment: x!.o.environment,
        user: x!.user,
        account: x!.account,
        ...x!.p.context(),
        description: report?.description,
        state: report?.state,
        breadcrumbs: x!.ring,
      },
      scrubJson,
    );
    if (json.length > MAX_REPORT_BYTES) throw new RangeError('bug report too large');
    resolve(x!.p.send(`${x!.url('attachments')}&session=${x!.session}&id=${id}`, json));
  }).then(
    (a) => a.status > 199 && a.status < 300,
    () => false,
  );
}
