import { readAlertSubjects, type GroupStates, type Regroup } from '../intelligence/index.js';
import type { EncodedEvents } from '../pipeline/index.js';
import type { AlertLog } from './alert-log.js';

export interface SubjectFilterOptions {
  log: Pick<AlertLog, 'has'>;
  groups?: Pick<GroupStates, 'get'> | undefined;
  regroup?: Pick<Regroup, 'mayChange'> | undefined;
  firstUsePerAccount?: boolean | undefined;
}

/**
 * Whether a hand-over (as 'alert-keys' bytes, intelligence/alert-subjects.ts) may raise an alert:
 * false only when every subject is already decided in the alert log, no error's group is resolved
 * (a regression is decided on the rows), and no release has source maps (fingerprints may change).
 * True sends the rows through the alerter as before: the answer is a shortcut, never a decision.
 */
export function createSubjectFilter(
  options: SubjectFilterOptions,
): (batch: EncodedEvents) => Promise<boolean> {
  const accountKeys = options.firstUsePerAccount === true;
  return async (batch) => {
    if (options.regroup !== undefined && (await options.regroup.mayChange(batch.regroupable))) return true;
    for (const chunk of batch.chunks)
      for (const [key, app, fingerprint] of readAlertSubjects(chunk)) {
        if (!accountKeys && key.startsWith('first-feature-account:')) continue;
        if (fingerprint !== '') {
          const status = options.groups?.get(app, fingerprint)?.status;
          if (status === 'ignored') continue;
          if (status === 'resolved' || status === 'regressed') return true;
        }
        if (!options.log.has(key)) return true;
      }
    return false;
  };
}
