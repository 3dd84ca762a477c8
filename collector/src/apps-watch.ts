import { appsFileVersion, readAppsFile } from './apps-file.js';
import { resolveApps, type CollectorApp, type KeyRegistry } from './apps.js';

/** How often a running collector looks at its apps file for changes (`telltale apps …` edits it). */
export const APPS_FILE_POLL_MS = 2000;

export interface AppsWatch {
  /** Reads the file now if it changed; resolves true when new apps were put in service. */
  check(): Promise<boolean>;
  stop(): void;
}

/**
 * Polls the apps file and swaps its apps into the registry (with `fixedApps`, e.g. the demo app)
 * when it changes: a rotated or revoked key takes effect without a restart. An invalid file is
 * reported and ignored; the apps in service stay as they were.
 */
export function watchAppsFile(options: {
  file: string;
  keys: KeyRegistry;
  fixedApps?: readonly CollectorApp[];
  pollMs?: number;
  onReload?: (apps: readonly CollectorApp[]) => void;
  onError?: (error: unknown) => void;
  initialVersion?: string | undefined;
}): AppsWatch {
  let version = options.initialVersion;
  let running: Promise<boolean> | undefined;
  const check = (): Promise<boolean> =>
    (running ??= (async () => {
      try {
        const next = await appsFileVersion(options.file);
        if (next === version) return false;
        version = next; // a bad file is reported once per change, not at every poll
        const read = await readAppsFile(options.file);
        const fixed = options.fixedApps ?? [];
        const fromFile = read?.apps ?? [];
        if (fixed.length + fromFile.length === 0)
          throw new Error(`${options.file} has no apps left; keeping the apps in service`);
        // Validated together: keys stay unique across the fixed apps and the file's.
        const apps = resolveApps([...fixed, ...fromFile], 'apps', 'add one with "telltale apps add <id>"');
        options.keys.replace(apps);
        options.onReload?.(apps);
        return true;
      } catch (error) {
        options.onError?.(error);
        return false;
      } finally {
        running = undefined;
      }
    })());
  const timer = setInterval(() => void check(), options.pollMs ?? APPS_FILE_POLL_MS);
  timer.unref();
  return { check, stop: () => clearInterval(timer) };
}
