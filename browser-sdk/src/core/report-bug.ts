import type { Ctx } from './client.js';
import { newId } from './ids.js';
import { scrubJson } from './scrub.js';
import type { Answer, BugReport } from './types.js';

/** Largest bug report sent (JSON, before gzip): a larger state is not sent at all rather than cut into invalid JSON. */
export const MAX_REPORT_BYTES = 1 << 20;

/** A bug report ready to upload: its attachment id (the collector's idempotency key), URL and JSON. */
export interface BugUpload {
  id: string;
  url: string;
  json: string;
}

/**
 * Builds a bug report tied to the session: the user's description, the app's state, the recent
 * breadcrumbs, and the ids that join it to the session's events (session, trace, user, release).
 * Strings scrubbed and deny-listed keys filtered like events. Throws before init and when too large.
 */
export function bugUpload(x: Ctx, report?: BugReport | null): BugUpload {
  const id = newId();
  const body = {
    v: 1,
    id,
    kind: 'bug-report',
    ts: Date.now(),
    session: x.session,
    trace: x.session,
    release: x.o.release,
    environment: x.o.environment,
    user: x.user,
    account: x.account,
    ...x.p.context(),
    description: report?.description,
    state: report?.state,
    breadcrumbs: x.ring,
  };
  // The report's own ids are ours, not the user's: a random id with a 12-digit run would otherwise be
  // "filtered" like a card number, and the report would no longer join its session.
  const json = JSON.stringify(body, (k, v: unknown) => (v === id || v === x.session ? v : scrubJson(k, v)));
  if (json.length > MAX_REPORT_BYTES) throw new RangeError('bug report too large');
  return { id, url: `${x.url('attachments')}&session=${x.session}&id=${id}`, json };
}

/** POSTs a bug report through the platform's transport (gzip); resolves with the collector's answer, status 0 for none. */
export const uploadBug = (x: Ctx, b: BugUpload): Promise<Answer> =>
  new Promise<Answer>((resolve) => resolve(x.p.send(b.url, b.json))).catch(() => ({ status: 0 }));

/**
 * Uploads a bug report once, without a queue (React Native): resolves true once the collector stored
 * it; false before init, when too large, or on any failure (the user is there to try again).
 */
export function sendBugReport(x: Ctx | undefined, report?: BugReport | null): Promise<boolean> {
  return new Promise<BugUpload>((resolve) => resolve(bugUpload(x!, report))).then(
    (b) => uploadBug(x!, b).then((a) => a.status > 199 && a.status < 300),
    () => false,
  );
}
