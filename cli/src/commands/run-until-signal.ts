import type { CommandIO } from './types.js';

/**
 * Starts a process role and keeps it until SIGINT or SIGTERM, then runs its `close` (stop taking
 * work, finish, commit) and resolves to the exit code: 0 after a clean shutdown, 1 when it failed.
 * The signals are caught from the first moment: a SIGTERM during start-up waits for it, then closes.
 */
export async function serveUntilSignal<T extends { close(): Promise<void> }>(
  io: CommandIO,
  what: string,
  start: () => Promise<T>,
  announce: (running: T) => string,
): Promise<number> {
  let signalled: (signal: string) => void = () => undefined;
  const signal = new Promise<string>((resolve) => (signalled = resolve));
  const onSigint = (): void => signalled('SIGINT');
  const onSigterm = (): void => signalled('SIGTERM');
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigterm);
  try {
    const running = await start();
    io.stdout.write(announce(running));
    io.stdout.write(`\n${await signal}: ${what}…\n`);
    try {
      await running.close();
      return 0;
    } catch (error) {
      io.stderr.write(`shutdown failed: ${String(error)}\n`);
      return 1;
    }
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
  }
}
