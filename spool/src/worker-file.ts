import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const LOADER_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

/** `flags` without the ones that load tsx (`--import tsx`, `--require …/tsx/dist/preflight.cjs`, `--import=tsx`). */
export function withoutTsLoader(flags: readonly string[]): string[] {
  const isTsx = (value: string): boolean => /(?:^|[\\/])tsx(?:$|[\\/])/.test(value);
  const kept: string[] = [];
  for (let i = 0; i < flags.length; i += 1) {
    const flag = flags[i]!;
    const eq = flag.indexOf('=');
    if (eq > 0 && LOADER_FLAGS.has(flag.slice(0, eq)) && isTsx(flag.slice(eq + 1))) continue;
    if (LOADER_FLAGS.has(flag) && i + 1 < flags.length && isTsx(flags[i + 1]!)) {
      i += 1;
      continue;
    }
    kept.push(flag);
  }
  return kept;
}

export interface WorkerFileOptions {
  filename: string;
  execArgv: string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * A worker thread's file beside the module at `moduleUrl` (its import.meta.url), named `name`
 * without extension: `<name>.js` when compiled; `<name>.ts` when run from source (vitest, tsx),
 * loaded through tsx with the workspace's source paths for `@telltale/*` (tsconfig.tests.json,
 * `depth` folders above the module). Compiled workers inherit the process's flags (--cpu-prof,
 * --enable-source-maps, …) but not a TypeScript loader the process was started with: the worker
 * file is plain JS, and loading tsx's compiler into every thread cost ~1 s of CPU.
 */
export function workerFile(moduleUrl: string, name: string, depth: number): WorkerFileOptions {
  const fromSource = moduleUrl.endsWith('.ts');
  const filename = new URL(`./${name}${fromSource ? '.ts' : '.js'}`, moduleUrl).href;
  if (!fromSource) return { filename, execArgv: withoutTsLoader(process.execArgv) };
  const root = path.resolve(path.dirname(fileURLToPath(moduleUrl)), ...Array<string>(depth).fill('..'));
  const tsx = pathToFileURL(createRequire(moduleUrl).resolve('tsx')).href;
  return {
    filename,
    execArgv: ['--import', tsx],
    env: { ...process.env, TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.tests.json') },
  };
}
