import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SHUTDOWN_DEADLINE_MS, serveUntilSignal } from '../src/commands/run-until-signal.js';
import { shutdownSteps } from '../src/roles/shutdown.js';

/**
 * serveUntilSignal with fake timers and a stand-in for the process's signals: a close that never
 * ends is given SHUTDOWN_DEADLINE_MS, then the process is told to exit 1 with the pending step on
 * stderr; a second signal ends the wait at once. No real 25 s wait.
 */
function fakeIo() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return { io: { stdout, stderr, env: {} }, out: () => out, err: () => err };
}

/** A role whose close walks named steps and hangs forever in `stuckAt`. */
function roleStuckIn(stuckAt: string) {
  const steps = shutdownSteps();
  return {
    close: async () => {
      await steps.step('the HTTP listeners', () => undefined);
      await steps.step(stuckAt, () => new Promise<void>(() => undefined));
    },
    shutdownStep: steps.pending,
  };
}

describe('serveUntilSignal: a bounded shutdown', () => {
  let signals: EventEmitter;
  beforeEach(() => {
    vi.useFakeTimers();
    signals = new EventEmitter();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a close that never ends: after the deadline, stderr names the pending step and the exit code is 1', async () => {
    const { io, err } = fakeIo();
    let code: number | undefined;
    const served = serveUntilSignal(
      io,
      'closing',
      async () => roleStuckIn('the dispatchers'),
      () => 'up\n',
      {
        signals,
      },
    ).then((c) => (code = c));
    await vi.advanceTimersByTimeAsync(0);
    signals.emit('SIGTERM', 'SIGTERM');
    await vi.advanceTimersByTimeAsync(SHUTDOWN_DEADLINE_MS - 1);
    expect(code).toBeUndefined(); // still within the grace it gives close()
    await vi.advanceTimersByTimeAsync(1);
    await served;
    expect(code).toBe(1);
    expect(err()).toBe(
      'shutdown: still waiting for the dispatchers after 25 s; exiting without finishing it\n',
    );
    expect(signals.listenerCount('SIGTERM') + signals.listenerCount('SIGINT')).toBe(0);
  });

  it('a second signal exits at once, naming the step it interrupted', async () => {
    const { io, out, err } = fakeIo();
    const served = serveUntilSignal(
      io,
      'closing',
      async () => roleStuckIn('DuckDB'),
      () => 'up\n',
      {
        signals,
      },
    );
    await vi.advanceTimersByTimeAsync(0);
    signals.emit('SIGTERM', 'SIGTERM');
    await vi.advanceTimersByTimeAsync(0);
    signals.emit('SIGINT', 'SIGINT');
    expect(await served).toBe(1);
    expect(out()).toBe('up\n\nSIGTERM: closing…\n');
    expect(err()).toBe('shutdown: SIGINT again while waiting for DuckDB; exiting now\n');
  });

  it('a clean close exits 0 and writes nothing to stderr', async () => {
    const { io, err } = fakeIo();
    const close = vi.fn(async () => undefined);
    const served = serveUntilSignal(
      io,
      'closing',
      async () => ({ close }),
      () => 'up\n',
      { signals },
    );
    await vi.advanceTimersByTimeAsync(0);
    signals.emit('SIGINT', 'SIGINT');
    expect(await served).toBe(0);
    expect(close).toHaveBeenCalledOnce();
    expect(err()).toBe('');
  });

  it('a close that fails exits 1 with the reason', async () => {
    const { io, err } = fakeIo();
    const served = serveUntilSignal(
      io,
      'closing',
      async () => ({ close: async () => Promise.reject(new Error('spool fsync: EIO')) }),
      () => 'up\n',
      { signals },
    );
    await vi.advanceTimersByTimeAsync(0);
    signals.emit('SIGTERM', 'SIGTERM');
    expect(await served).toBe(1);
    expect(err()).toBe('shutdown failed: Error: spool fsync: EIO\n');
  });

  it('a SIGTERM during start-up waits for it, then closes; a start-up that never ends is bounded too', async () => {
    const first = fakeIo();
    let started: (role: { close(): Promise<void> }) => void = () => undefined;
    const close = vi.fn(async () => undefined);
    const served = serveUntilSignal(
      first.io,
      'closing',
      () => new Promise<{ close(): Promise<void> }>((resolve) => (started = resolve)),
      () => 'up\n',
      { signals },
    );
    signals.emit('SIGTERM', 'SIGTERM');
    await vi.advanceTimersByTimeAsync(0);
    started({ close });
    expect(await served).toBe(0);
    expect(close).toHaveBeenCalledOnce();

    const second = fakeIo();
    const stuck = serveUntilSignal(
      second.io,
      'closing',
      () => new Promise<never>(() => undefined),
      () => '',
      {
        signals,
      },
    );
    signals.emit('SIGTERM', 'SIGTERM');
    await vi.advanceTimersByTimeAsync(SHUTDOWN_DEADLINE_MS);
    expect(await stuck).toBe(1);
    expect(second.err()).toBe(
      'shutdown: still waiting for start-up after 25 s; exiting without finishing it\n',
    );
  });
});
