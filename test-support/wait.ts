// Waiting on a condition with a deadline instead of a fixed sleep: a loaded machine makes a sleep
// too short (flaky) and an idle one makes it too long (slow).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Polls until `check` returns a value other than undefined or false (a throw counts as not yet), or
 * fails after `timeoutMs` naming `what` and the last error.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A fresh temp dir `telltale-<prefix>-…`, and its removal. */
export async function tempDir(prefix: string): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `telltale-${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
