import { randomBytes } from 'node:crypto';
import type { Role } from './access-store.js';
import { sha256 } from './access-store.js';

export const SESSION_COOKIE = 'telltale_session';

/** Who a request acts for. `via` says how it proved it; `email` is what the nav bar shows. */
export interface Viewer {
  email: string;
  role: Role;
  via: 'password' | 'sso' | 'first-start' | 'token' | 'env-token';
}

export interface Session extends Viewer {
  createdAt: number;
  lastSeenAt: number;
  /** The user record's `updatedAt` when the session began: a password or role change ends it. */
  userStamp?: string;
}

export interface SessionLimits {
  /** Idle time after which a session ends (`TELLTALE_SESSION_IDLE_HOURS`, default 12 h). */
  idleMs: number;
  /** Age after which a session ends however active (`TELLTALE_SESSION_MAX_DAYS`, default 7 d). */
  maxAgeMs: number;
}

/** At most this many live sessions; the least recently used goes first, so a login loop cannot fill memory. */
export const MAX_SESSIONS = 10_000;

/**
 * Sessions in memory, keyed by the sha256 of their random id: the id lives only in the browser's
 * cookie. In memory on purpose: a restart signs everyone out, and nothing on disk can leak a session.
 */
export function createSessionStore(limits: SessionLimits, now: () => number = Date.now) {
  // A Map keeps insertion order: re-inserting on use makes the first entry the least recently used.
  const sessions = new Map<string, Session>();

  const live = (session: Session, at: number): boolean =>
    at - session.lastSeenAt < limits.idleMs && at - session.createdAt < limits.maxAgeMs;

  return {
    /** A new session; the returned id goes into the cookie and nowhere else. */
    create(viewer: Viewer, userStamp?: string): string {
      const id = randomBytes(32).toString('base64url');
      const at = now();
      sessions.set(sha256(id), {
        ...viewer,
        createdAt: at,
        lastSeenAt: at,
        ...(userStamp ? { userStamp } : {}),
      });
      while (sessions.size > MAX_SESSIONS) sessions.delete(sessions.keys().next().value!);
      return id;
    },
    /** The live session for a cookie value, marked as used; undefined when unknown or expired. */
    touch(id: string): Session | undefined {
      const key = sha256(id);
      const session = sessions.get(key);
      if (session === undefined) return undefined;
      sessions.delete(key);
      const at = now();
      if (!live(session, at)) return undefined;
      session.lastSeenAt = at;
      sessions.set(key, session);
      return session;
    },
    end(id: string): void {
      sessions.delete(sha256(id));
    },
    /** Seconds the cookie may live: the absolute limit, since the server enforces idleness itself. */
    cookieMaxAgeSeconds: (): number => Math.floor(limits.maxAgeMs / 1000),
    size: (): number => sessions.size,
  };
}

export type SessionStore = ReturnType<typeof createSessionStore>;

/**
 * The first-start link's secret (as Jupyter prints one): single use, expires, and lives in memory
 * only, so each start while no user exists prints a new one.
 */
export function createFirstStartToken(ttlMs: number, now: () => number = Date.now) {
  const token = randomBytes(24).toString('base64url');
  const digest = sha256(token);
  const expiresAt = now() + ttlMs;
  let used = false;
  return {
    token,
    /** True once, for the right token before it expires. */
    redeem(candidate: string): boolean {
      if (used || now() >= expiresAt || sha256(candidate) !== digest) return false;
      used = true;
      return true;
    },
  };
}

export type FirstStartToken = ReturnType<typeof createFirstStartToken>;
