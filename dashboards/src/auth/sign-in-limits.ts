import { addressKey } from '@telltale/protocol';

/** How many failed sign-ins are allowed in a window, and to whom. */
export interface LoginLimitSettings {
  /** Failures of one account from one client address before that pair waits (default 10). */
  max: number;
  /** The fixed window the failures are counted in (default 15 minutes). */
  windowMs: number;
  /** Failures from one address across all accounts (default 5 × `max`). */
  perAddress?: number;
  /**
   * Failures of one account from all addresses together (default 10 × `max`): a high ceiling
   * against guessing spread over many addresses. Reaching it blocks the account everywhere, so it
   * is logged.
   */
  perAccount?: number;
}

export const DEFAULT_LOGIN_LIMIT: LoginLimitSettings = { max: 10, windowMs: 15 * 60_000 };

/** One counter and the failures it allows. */
export interface LimitKey {
  key: string;
  max: number;
}

/**
 * The counters one sign-in attempt is checked against. The (account, address) pair carries the
 * low limit, so guessing from one address locks out that address only and the owner still signs in
 * from anywhere else.
 */
export function signInKeys(email: string, ip: string, settings: LoginLimitSettings) {
  const address = addressKey(ip);
  const pair: LimitKey = { key: `pair:${address} ${email}`, max: settings.max };
  const perAddress: LimitKey = { key: `address:${address}`, max: settings.perAddress ?? 5 * settings.max };
  const account: LimitKey = { key: `account:${email}`, max: settings.perAccount ?? 10 * settings.max };
  return { all: [pair, perAddress, account], account };
}

/**
 * Failed sign-ins per key in a fixed window. Bounded like every map keyed by what a sender chooses:
 * past `maxKeys` the least recently failed key is forgotten.
 */
export function createLoginLimiter(options: { windowMs: number; maxKeys?: number }, now = Date.now) {
  const windows = new Map<string, { start: number; failures: number }>();
  const maxKeys = options.maxKeys ?? 100_000;
  const current = (key: string) => {
    const entry = windows.get(key);
    if (entry === undefined || now() - entry.start >= options.windowMs) return undefined;
    return entry;
  };
  return {
    /** Seconds until every one of `keys` is below its limit; 0 when the attempt may go ahead now. */
    retryAfterSeconds(keys: readonly LimitKey[]): number {
      let wait = 0;
      for (const { key, max } of keys) {
        const entry = current(key);
        if (entry !== undefined && entry.failures >= max)
          wait = Math.max(wait, Math.ceil((entry.start + options.windowMs - now()) / 1000));
      }
      return wait;
    },
    /** Counts one failure against each key; returns the keys this failure brought to their limit. */
    fail(keys: readonly LimitKey[]): LimitKey[] {
      const reached: LimitKey[] = [];
      for (const limit of keys) {
        const entry = current(limit.key) ?? { start: now(), failures: 0 };
        entry.failures += 1;
        if (entry.failures === limit.max) reached.push(limit);
        windows.delete(limit.key);
        windows.set(limit.key, entry);
      }
      while (windows.size > maxKeys) windows.delete(windows.keys().next().value!);
      return reached;
    },
    /** Gives back one attempt counted by `fail` (a sign-in counts before its slow password check). */
    refund(keys: readonly LimitKey[]): void {
      for (const { key } of keys) {
        const entry = current(key);
        if (entry !== undefined && entry.failures > 0) entry.failures -= 1;
      }
    },
  };
}

export type LoginLimiter = ReturnType<typeof createLoginLimiter>;
