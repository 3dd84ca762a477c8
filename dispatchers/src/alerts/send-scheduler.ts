/**
 * When the alert sender and the webhook sender make their attempts: each attempt waits on a timer
 * (now, or a backoff's delay), then runs after the attempts before it in its lane, one at a time —
 * one lane for email (a burst of new errors must not open a burst of SMTP connections), one per
 * webhook destination (a slow Slack does not hold up Teams). `idle()` is what tests and shutdown
 * wait on: every attempt that was due now has run; retries scheduled for later do not count.
 */
export interface SendScheduler {
  /** Runs `attempt` in `lane` after `delayMs`; a no-op while `slot` already waits, or once closed. */
  schedule(slot: string, lane: string, delayMs: number, attempt: () => Promise<void>): void;
  /** Resolves once every attempt scheduled with no delay has run (retries after a backoff aside). */
  idle(): Promise<void>;
  /** True after close(): attempts still running check it before they send. */
  closed(): boolean;
  /** Cancels the attempts waiting on a timer, releases idle(), and waits for the attempts running. */
  close(): Promise<void>;
}

/** `onError`: an attempt threw (its own failures are handled inside it; this is for the unexpected). */
export function createSendScheduler(onError: (error: unknown) => void = () => undefined): SendScheduler {
  const timers = new Map<string, NodeJS.Timeout>();
  const lanes = new Map<string, Promise<void>>();
  let closed = false;
  // Attempts due now (not a backoff's later retry) and not yet made: what idle() waits for.
  let due = 0;
  let waiters: Array<() => void> = [];
  const settle = (): void => {
    due -= 1;
    if (due > 0) return;
    for (const resolve of waiters.splice(0)) resolve();
  };

  return {
    schedule(slot, lane, delayMs, attempt) {
      if (closed || timers.has(slot)) return;
      const now = delayMs <= 0;
      if (now) due += 1;
      const timer = setTimeout(() => {
        timers.delete(slot);
        const run = (lanes.get(lane) ?? Promise.resolve())
          .then(attempt)
          .catch(onError)
          .finally(() => {
            if (now) settle();
          });
        lanes.set(lane, run);
      }, delayMs);
      timers.set(slot, timer);
    },
    idle: () => (due <= 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve))),
    closed: () => closed,
    async close() {
      closed = true;
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      due = 0;
      for (const resolve of waiters.splice(0)) resolve();
      waiters = [];
      await Promise.all(lanes.values());
    },
  };
}
