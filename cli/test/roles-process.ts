// Starts `telltale <command>` as a real child process (node cli/bin/telltale.js, the built cli),
// reads the address it announces, and stops it with SIGTERM: what a container runtime does.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exited } from '../../test-support/processes.js';
import { waitFor } from '../../test-support/wait.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const TELLTALE_BIN = path.join(REPO, 'cli/bin/telltale.js');

export interface TelltaleProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** The first http://… address the command announced (the listener, or the dispatcher's ops port). */
  url: string;
  /** SIGTERM, then the exit code (null when killed by a signal). */
  stop(): Promise<number | null>;
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
    const stop = async (): Promise<number | null> => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited(child);
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
    throw new Error(`${(error as Error).message}\n--- output of telltale ${args.join(' ')} ---\n${out}`);
  }
}

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
