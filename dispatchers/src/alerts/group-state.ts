import path from 'node:path';
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
  return path.join(dataDir, 'alerts', 'groups.jsonl');
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

/** A JSON-lines log of whole states (the last line of a group wins), fsync'd before the change counts. */
export async function openGroupStates(dataDir: string, now: () => number = Date.now): Promise<GroupStates> {
  const file = groupStatesFile(dataDir);
  const { records, log } = await openJsonLinesLog(file, isGroupState);
  // The last line of a group wins.
  const states = new Map<string, GroupState>(
    records.map((state) => [key(state.app, state.fingerprint), state]),
  );

  async function write(next: GroupState): Promise<GroupState> {
    await log.append([next]);
    states.set(key(next.app, next.fingerprint), next);
    return next;
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
      return write(next);
    },
    ignore(app, fingerprint) {
      const at = now();
      return write({ ...current(app, fingerprint), status: 'ignored', ignoredAt: at, updatedAt: at });
    },
    reopen(app, fingerprint) {
      return write({ ...current(app, fingerprint), status: 'open', updatedAt: now() });
    },
    async markRegressed(app, fingerprint, at, release) {
      const before = states.get(key(app, fingerprint));
      if (before?.status !== 'resolved') return undefined;
      return write({
        ...before,
        status: 'regressed',
        regressedAt: at,
        regressedInRelease: release,
        updatedAt: now(),
      });
    },
    close: () => log.close(),
  };
}
