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
 * The records of a hand-over (as 'alert-keys' bytes, intelligence/alert-subjects.ts) that may raise
 * an alert: a record is left out only when every subject of it is already decided in the alert log
 * and no error of it belongs to a resolved group (a regression is decided on the rows); with a
 * release that has source maps (fingerprints may change) every record is in. The records named go
 * through the alerter as rows, as before: leaving a record out is a shortcut, never a decision —
 * a record with an undecided subject is always in, so candidates count every occurrence.
 */
export function createSubjectFilter(
  options: SubjectFilterOptions,
): (batch: EncodedEvents) => Promise<number[]> {
  const accountKeys = options.firstUsePerAccount === true;
  const mayRaise = (chunk: Buffer): boolean => {
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
  return async (batch) => {
    const all = batch.chunks.map((_, i) => i);
    if (options.regroup !== undefined && (await options.regroup.mayChange(batch.regroupable))) return all;
    return all.filter((i) => mayRaise(batch.chunks[i]!));
  };
}
