// Starts `telltale <command>` as a real child process (node cli/bin/telltale.js, the built cli),
// reads the address it announces, and stops it with SIGTERM: what a container runtime does.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exited } from '../../test-support/processes.js';
import { waitFor } from '../../test-support/wait.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const TELLTALE_BIN = path.join(REPO, 'cli/bin/telltale.js');
/** How long stop() waits after SIGTERM: past the processes' own shutdown deadlines (25 s; the dispatcher's 100 s), under the hooks' 120 s. */
export const STOP_TIMEOUT_MS = 115_000;

export interface TelltaleProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** The first http://… address the command announced (the listener, or the dispatcher's ops port). */
  url: string;
  /**
   * SIGTERM, then the exit code (null when killed by a signal); a code other than 0 prints the
   * output. Not gone after `timeoutMs`: SIGKILL, and it throws with the output (what shutdown waited for).
   */
  stop(timeoutMs?: number): Promise<number | null>;
  /** SIGKILL: no chance to finish anything. */
  kill(): Promise<void>;
}

/** A clean slate: none of the caller's TELLTALE_* settings leak into the child. */
export function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TELLTALE_'))),
    ...env,
  };
}

/** Runs `telltale <args>` and waits until it printed a line matching `ready` (with a URL in it). */
export async function startTelltaleProcess(
  args: string[],
  env: Record<string, string>,
  options: { cwd?: string; ready?: RegExp; timeoutMs?: number } = {},
): Promise<TelltaleProcess> {
  const child = spawn(process.execPath, [TELLTALE_BIN, ...args], {
    cwd: options.cwd ?? REPO,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const ready = options.ready ?? /(?:listening on|on|ops on) (http:\/\/127\.0\.0\.1:\d+)/;
  try {
    const url = await waitFor(
      `telltale ${args.join(' ')} to start`,
      () => {
        if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${out}`);
        return ready.exec(out)?.[1];
      },
      options.timeoutMs ?? 60_000,
      100,
    );
    const stop = async (timeoutMs = STOP_TIMEOUT_MS): Promise<number | null> => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const inTime = await Promise.race([
        exited(child).then(() => true),
        new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
      ]);
      clearTimeout(timer);
      if (!inTime) {
        child.kill('SIGKILL');
        await exited(child);
        throw new Error(
          `telltale ${args.join(' ')} was still running ${timeoutMs / 1000} s after SIGTERM (now killed)\n${outputOf(args, out)}`,
        );
      }
      if (child.exitCode !== 0)
        console.error(
          `telltale ${args.join(' ')} exited ${child.exitCode ?? child.signalCode} after SIGTERM\n${outputOf(args, out)}`,
        );
      return child.exitCode;
    };
    const kill = async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited(child);
    };
    return { child, output: () => out, url, stop, kill };
  } catch (error) {
    child.kill('SIGKILL');
    await exited(child);
    throw new Error(`${(error as Error).message}\n${outputOf(args, out)}`);
  }
}

const outputOf = (args: string[], out: string): string =>
  `--- output of telltale ${args.join(' ')} ---\n${out}`;

/** Runs a short `telltale …` command to its end; resolves to its exit code and output. */
export function runTelltale(
  args: string[],
  env: Record<string, string>,
  cwd = REPO,
): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [TELLTALE_BIN, ...args], {
    cwd,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out })));
}
