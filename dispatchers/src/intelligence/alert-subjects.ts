import type { AlertKind } from '../alerts/index.js';
import type { EnrichedEvent } from '../pipeline/index.js';

/**
 * The alerts an event can raise, in the order they are considered. A key is decided once, ever:
 * new-error:<app>:<fp>, regression:<app>:<fp>:<resolution>, first-feature:<app>:<name>,
 * first-feature-account:<app>:<name>:<account>, new-assert:<app>:<name>.
 */
export function alertKeys(
  event: EnrichedEvent,
  options: { firstUsePerAccount?: boolean; resolution?: number } = {},
): Array<{ key: string; kind: AlertKind }> {
  if (event.kind === 'error' && event.fingerprint !== null) {
    const keys: Array<{ key: string; kind: AlertKind }> = [
      { key: `new-error:${event.app}:${event.fingerprint}`, kind: 'new-error' },
    ];
    if (options.resolution !== undefined)
      keys.push({
        key: `regression:${event.app}:${event.fingerprint}:${options.resolution}`,
        kind: 'regression',
      });
    return keys;
  }
  if (event.kind === 'feature' && event.name !== null) {
    const keys: Array<{ key: string; kind: AlertKind }> = [
      { key: `first-feature:${event.app}:${event.name}`, kind: 'first-feature' },
    ];
    if (options.firstUsePerAccount === true && event.accountId !== null)
      keys.push({
        key: `first-feature-account:${event.app}:${event.name}:${event.accountId}`,
        kind: 'first-feature-account',
      });
    return keys;
  }
  if (event.kind === 'assert' && event.name !== null)
    return [{ key: `new-assert:${event.app}:${event.name}`, kind: 'new-assert' }];
  return [];
}

/**
 * One record's alert subjects, the 'alert-keys' wire format: JSON of its distinct
 * [key, app, fingerprint | ''] triples (account keys included; the alerter ignores them unless
 * first use per account is on). Rendered in the decode workers, so the alerter can tell a record
 * that raises nothing new — every key already decided, no group that could regress — without
 * building its rows (most records, once an app's errors and features are known).
 */
export function alertSubjectsJson(events: readonly EnrichedEvent[]): string {
  const seen = new Set<string>();
  const out: [string, string, string][] = [];
  for (const event of events)
    for (const { key } of alertKeys(event, { firstUsePerAccount: true })) {
      if (seen.has(key)) continue;
      seen.add(key);
      out.push([key, event.app, event.kind === 'error' ? (event.fingerprint ?? '') : '']);
    }
  return JSON.stringify(out);
}

/** A record's subjects as alertSubjectsJson wrote them. */
export function readAlertSubjects(bytes: Buffer): [key: string, app: string, fingerprint: string][] {
  return JSON.parse(bytes.toString('utf8')) as [string, string, string][];
}
