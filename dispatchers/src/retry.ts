/**
 * The one retry policy of the dispatchers: exponential backoff with jitter, capped. Sinks and the
 * mailer never retry on their own; the consumer loop and the alerter call these.
 */
export interface BackoffPolicy {
  /** Delay before the first retry, ms. */
  readonly baseMs: number;
  /** Growth per attempt. */
  readonly multiplier: number;
  /** Largest delay, ms: a dead sink is probed at this rate until it returns. */
  readonly capMs: number;
  /** Fraction of the delay that is randomised (0..1), so restarted workers do not retry in lockstep. */
  readonly jitter: number;
}

/** Sinks (DuckDB, later ClickHouse / Log Analytics): retry fast at first, then every 30 s. */
export const SINK_BACKOFF: BackoffPolicy = Object.freeze({
  baseMs: 200,
  multiplier: 2,
  capMs: 30_000,
  jitter: 0.5,
});

/** SMTP: a mail server that is down tends to stay down for minutes, so start slower and cap at 10 min. */
export const MAIL_BACKOFF: BackoffPolicy = Object.freeze({
  baseMs: 1_000,
  multiplier: 2,
  capMs: 600_000,
  jitter: 0.5,
});

/** Delay before retry number `attempt` (1 = first retry); `hintMs` (a Retry-After) wins when larger. */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy,
  hintMs?: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, attempt - 1);
  const raw = Math.min(policy.capMs, policy.baseMs * policy.multiplier ** exponent);
  const delay = raw * (1 - policy.jitter) + raw * policy.jitter * random();
  const hinted =
    hintMs !== undefined && Number.isFinite(hintMs) ? Math.min(policy.capMs, Math.max(0, hintMs)) : 0;
  return Math.round(Math.max(delay, hinted));
}

/** A sleep that `wake()` ends early (stop requests, new data). */
export interface Sleeper {
  sleep(ms: number): Promise<void>;
  wake(): void;
}

export function createSleeper(): Sleeper {
  let pending: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  return {
    sleep(ms) {
      return new Promise<void>((resolve) => {
        const done = (): void => {
          if (pending?.resolve === done) {
            clearTimeout(pending.timer);
            pending = undefined;
          }
          resolve();
        };
        pending = { timer: setTimeout(done, ms), resolve: done };
      });
    },
    wake() {
      pending?.resolve();
    },
  };
}
