import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSendScheduler } from '../src/alerts/index.js';

/** An attempt that runs until the test lets it finish, recording when it started and ended. */
function gate(events: string[], name: string): { attempt: () => Promise<void>; finish: () => void } {
  let finish = (): void => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    attempt: async () => {
      events.push(`${name} start`);
      await done;
      events.push(`${name} end`);
    },
    finish: () => finish(),
  };
}

describe('send scheduler (alert emails and webhooks)', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('runs one attempt at a time per lane, lanes side by side, and idle() waits for the ones due now', async () => {
    const scheduler = createSendScheduler();
    const events: string[] = [];
    const a = gate(events, 'a');
    const b = gate(events, 'b');
    const c = gate(events, 'c');
    scheduler.schedule('a', 'slack', 0, a.attempt);
    scheduler.schedule('b', 'slack', 0, b.attempt);
    scheduler.schedule('c', 'teams', 0, c.attempt);
    scheduler.schedule('a', 'slack', 0, async () => void events.push('a again')); // a is already waiting
    let idle = false;
    void scheduler.idle().then(() => (idle = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(events).toEqual(['a start', 'c start']); // b waits for a in its lane; teams does not
    a.finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(events).toEqual(['a start', 'c start', 'a end', 'b start']);
    expect(idle).toBe(false);
    b.finish();
    c.finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(events).toEqual(['a start', 'c start', 'a end', 'b start', 'b end', 'c end']);
    expect(idle).toBe(true);
    await scheduler.close();
  });

  it('leaves retries for later out of idle(), reports a throw, and close() cancels waiting attempts but lets a running one end', async () => {
    const errors: unknown[] = [];
    const scheduler = createSendScheduler((error) => errors.push(error));
    const events: string[] = [];
    const running = gate(events, 'running');
    scheduler.schedule('retry', 'mail', 60_000, async () => void events.push('retry'));
    await scheduler.idle(); // nothing due now
    scheduler.schedule('boom', 'mail', 0, async () => {
      throw new Error('no connection');
    });
    scheduler.schedule('running', 'mail', 0, running.attempt);
    await vi.advanceTimersByTimeAsync(0);
    expect(errors).toEqual([new Error('no connection')]);
    expect(events).toEqual(['running start']);
    const closing = scheduler.close();
    expect(scheduler.closed()).toBe(true);
    scheduler.schedule('late', 'mail', 0, async () => void events.push('late'));
    running.finish();
    await closing;
    await vi.advanceTimersByTimeAsync(120_000);
    expect(events).toEqual(['running start', 'running end']);
    await scheduler.idle();
  });
});
