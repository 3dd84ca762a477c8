import type { CommandIO } from './types.js';

/**
 * How long a shutdown may take: under the 30 s Docker and Kubernetes give between SIGTERM and
 * SIGKILL, so a stuck step is named on stderr before the SIGKILL takes the chance away.
 */
export const SHUTDOWN_DEADLINE_MS = 25_000;

/**
 * The dispatcher role's: a Kafka consumer leaving its group during a rebalance waits for the
 * rebalance before it can commit and go — up to the longest rebalanceTimeoutMs of its groups (the
 * sink consumers' 60 s, the alert deciders' 90 s: DECIDER_TIMINGS), with a margin; docker-compose.yml
 * gives the dispatchers a grace period above this. (75 s was below the deciders' 90 s: a clean-clone
 * CI run had a dispatcher exit 1 at 75 s with its deciders still rejoining.) Stopping earlier loses
 * no data (the records come again and are deduped on event id), only the clean exit.
 */
export const DISPATCHER_SHUTDOWN_DEADLINE_MS = 100_000;

/** A started role: `close` stops it; `shutdownStep` names what close is waiting for, if it can tell. */
export interface Closable {
  close(): Promise<void>;
  shutdownStep?(): string | undefined;
}

/** Where SIGINT and SIGTERM come from: the process, or a test's emitter. */
export interface SignalSource {
  on(signal: 'SIGINT' | 'SIGTERM', listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: 'SIGINT' | 'SIGTERM', listener: (signal: NodeJS.Signals) => void): unknown;
}

/**
 * Starts a process role and keeps it until SIGINT or SIGTERM, then runs its `close` (stop taking
 * work, finish, commit) and resolves to the exit code: 0 after a clean shutdown, 1 when it failed,
 * did not end within `deadlineMs` of the signal (stderr names the step still pending), or a second
 * signal came first. The signals are caught from the first moment: a SIGTERM during start-up waits
 * for it, then closes.
 */
export async function serveUntilSignal<T extends Closable>(
  io: CommandIO,
  what: string,
  start: () => Promise<T>,
  announce: (running: T) => string,
  options: { deadlineMs?: number; signals?: SignalSource } = {},
): Promise<number> {
  const { deadlineMs = SHUTDOWN_DEADLINE_MS, signals = process } = options;
  let received = 0;
  let first: (signal: string) => void = () => undefined;
  let second: (signal: string) => void = () => undefined;
  const signal = new Promise<string>((resolve) => (first = resolve));
  const again = new Promise<string>((resolve) => (second = resolve));
  const onSignal = (name: NodeJS.Signals): void => {
    received += 1;
    if (received === 1) first(name);
    else second(name);
  };
  signals.on('SIGINT', onSignal);
  signals.on('SIGTERM', onSignal);
  let running: T | undefined;
  let timer: NodeJS.Timeout | undefined;
  const pending = (): string => running?.shutdownStep?.() ?? (running ? 'close' : 'start-up');
  try {
    // From the first signal on, start-up (if still under way) and close share the deadline.
    const deadline = signal.then(
      () => new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), deadlineMs))),
    );
    const interrupted = again.then((name) => ({ again: name }));
    const started = await Promise.race([start().then((role) => ({ role })), interrupted, deadline]);
    if (started === 'deadline' || 'again' in started) {
      io.stderr.write(stuckMessage(started, pending(), deadlineMs));
      return 1;
    }
    running = started.role;
    io.stdout.write(announce(running));
    io.stdout.write(`\n${await signal}: ${what}…\n`);
    const closed = running.close().then(
      () => ({ ok: true as const }),
      (error: unknown) => ({ error }),
    );
    const outcome = await Promise.race([closed, interrupted, deadline]);
    if (outcome === 'deadline' || 'again' in outcome) {
      io.stderr.write(stuckMessage(outcome, pending(), deadlineMs));
      return 1;
    }
    if ('error' in outcome) {
      io.stderr.write(`shutdown failed: ${String(outcome.error)}\n`);
      return 1;
    }
    return 0;
  } finally {
    clearTimeout(timer);
    signals.off('SIGINT', onSignal);
    signals.off('SIGTERM', onSignal);
  }
}

function stuckMessage(reason: 'deadline' | { again: string }, step: string, deadlineMs: number): string {
  return reason === 'deadline'
    ? `shutdown: still waiting for ${step} after ${deadlineMs / 1000} s; exiting without finishing it\n`
    : `shutdown: ${reason.again} again while waiting for ${step}; exiting now\n`;
}
