import { dataLayout } from '@telltale/protocol';
import { openJsonLinesLog } from './jsonl-log.js';

/**
 * What people decided about an error group, and what happened since: the lifecycle the counts in
 * the store cannot tell. A group without a record is `new` or `ongoing` (by its first-seen time).
 *
 *   open ──resolve──► resolved ──seen again (newer release)──► regressed ──resolve──► resolved …
 *     └──ignore──► ignored ──reopen──► open
 */
export type GroupStatus = 'open' | 'resolved' | 'regressed' | 'ignored';

export interface GroupState {
  app: string;
  fingerprint: string;
  status: GroupStatus;
  /** How many times the group was resolved: a regression emails once per resolution. */
  resolution: number;
  /** Epoch ms of the last resolve (collector clock, like `receivedAt`). */
  resolvedAt?: number;
  /** "Fixed in this release": only this release and releases unknown at resolve time count as a regression. */
  resolvedInRelease?: string;
  /** Releases the group had been seen in when it was resolved. */
  releasesAtResolve?: string[];
  regressedAt?: number;
  regressedInRelease?: string;
  ignoredAt?: number;
  /** Epoch ms of the last change. */
  updatedAt: number;
}

export interface ResolveOptions {
  /** The release that fixes it; unset: any occurrence after now is a regression. */
  release?: string | undefined;
  /** Releases the group was seen in so far (from the store). */
  knownReleases?: readonly string[] | undefined;
}

export interface GroupStates {
  readonly file: string;
  get(app: string, fingerprint: string): GroupState | undefined;
  list(): GroupState[];
  resolve(app: string, fingerprint: string, options?: ResolveOptions): Promise<GroupState>;
  ignore(app: string, fingerprint: string): Promise<GroupState>;
  /** Back to open (from resolved, regressed or ignored); the resolution count stays. */
  reopen(app: string, fingerprint: string): Promise<GroupState>;
  /** Records a regression the alerter saw; no-op unless the group is resolved. */
  markRegressed(
    app: string,
    fingerprint: string,
    at: number,
    release: string,
  ): Promise<GroupState | undefined>;
  close(): Promise<void>;
}

export function groupStatesFile(dataDir: string): string {
  return dataLayout(dataDir).alertGroups;
}

const key = (app: string, fingerprint: string): string => `${app}\u0000${fingerprint}`;

/**
 * True when an occurrence of a resolved group is a regression: it arrived after the resolve and,
 * when a fixing release was named, in that release or in one nobody had seen the error in before.
 * Pure, so a replayed event decides the same way (the alert log then keeps the email single).
 */
export function isRegression(
  state: GroupState | undefined,
  event: { receivedAt: number; release: string },
): boolean {
  if (state === undefined || state.resolvedAt === undefined) return false;
  if (state.status !== 'resolved' && state.status !== 'regressed') return false;
  if (event.receivedAt <= state.resolvedAt) return false;
  if (state.resolvedInRelease === undefined) return true;
  return (
    event.release === state.resolvedInRelease || !(state.releasesAtResolve ?? []).includes(event.release)
  );
}

function isGroupState(value: unknown): value is GroupState {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return (
    typeof r.app === 'string' &&
    typeof r.fingerprint === 'string' &&
    typeof r.status === 'string' &&
    ['open', 'resolved', 'regressed', 'ignored'].includes(r.status) &&
    typeof r.resolution === 'number'
  );
}

/** Lines allowed beyond twice the groups before a rewrite: small files are never worth one. */
const COMPACTION_SLACK_LINES = 1_000;

/** Nothing people decided: the same as having no record (a group reopened before it was ever resolved). */
function isDefault(state: GroupState): boolean {
  return state.status === 'open' && state.resolution === 0;
}

/**
 * A JSON-lines log of whole states (the last line of a group wins), fsync'd before the change counts,
 * read line by line at start and rewritten with one line per group when it holds more than twice as
 * many lines as groups. No retention by age: every line left is a decision a person made (and the
 * resolution count keeps regression alerts single), so the file grows with people's clicks only.
 */
export async function openGroupStates(dataDir: string, now: () => number = Date.now): Promise<GroupStates> {
  const file = groupStatesFile(dataDir);
  const states = new Map<string, GroupState>();
  // The last line of a group wins.
  const log = await openJsonLinesLog(file, isGroupState, (state) =>
    states.set(key(state.app, state.fingerprint), state),
  );

  // Changes run one at a time: each reads the state the previous one left (two resolves count twice).
  let tail: Promise<unknown> = Promise.resolve();
  function write<T extends GroupState | undefined>(next: () => T): Promise<T> {
    const run = tail.then(async () => {
      const state = next();
      if (state === undefined) return state;
      await log.append([state]);
      states.set(key(state.app, state.fingerprint), state);
      if (log.lines > 2 * states.size + COMPACTION_SLACK_LINES) {
        const kept = [...states.values()].filter((s) => !isDefault(s));
        await log.rewrite(kept);
        for (const [k, s] of states) if (isDefault(s)) states.delete(k);
      }
      return state;
    });
    tail = run.catch(() => undefined);
    return run;
  }

  function current(app: string, fingerprint: string): GroupState {
    return (
      states.get(key(app, fingerprint)) ?? { app, fingerprint, status: 'open', resolution: 0, updatedAt: 0 }
    );
  }

  return {
    file,
    get: (app, fingerprint) => states.get(key(app, fingerprint)),
    list: () => [...states.values()],
    resolve(app, fingerprint, options = {}) {
      return write(() => {
        const before = current(app, fingerprint);
        const at = now();
        const next: GroupState = {
          app,
          fingerprint,
          status: 'resolved',
          resolution: before.resolution + 1,
          resolvedAt: at,
          releasesAtResolve: [...new Set(options.knownReleases ?? [])].sort(),
          updatedAt: at,
        };
        if (options.release !== undefined && options.release !== '') next.resolvedInRelease = options.release;
        return next;
      });
    },
    ignore(app, fingerprint) {
      return write((): GroupState => {
        const at = now();
        return { ...current(app, fingerprint), status: 'ignored', ignoredAt: at, updatedAt: at };
      });
    },
    reopen(app, fingerprint) {
      return write((): GroupState => ({ ...current(app, fingerprint), status: 'open', updatedAt: now() }));
    },
    markRegressed(app, fingerprint, at, release) {
      return write((): GroupState | undefined => {
        const before = states.get(key(app, fingerprint));
        if (before?.status !== 'resolved') return undefined;
        return {
          ...before,
          status: 'regressed',
          regressedAt: at,
          regressedInRelease: release,
          updatedAt: now(),
        };
      });
    },
    close: async () => {
      await tail;
      await log.close();
    },
  };
}
