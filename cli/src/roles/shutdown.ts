// The connection drain lives in the collector package (its standalone server uses it too).
export {
  clientErrorHandler,
  closeListener,
  connectionDrain,
  REQUEST_GRACE_MS,
  type ConnectionDrain,
} from '@telltale/collector';

/** What a process role's `close()` is doing, for the shutdown deadline's message. */
export interface ShutdownSteps {
  /** Runs one named step of a close sequence; `pending()` names it until it is done. */
  step<T>(name: string, run: () => T | Promise<T>): Promise<T>;
  /** The step under way, e.g. "the dispatchers"; undefined before the first and after the last. */
  pending(): string | undefined;
}

export function shutdownSteps(): ShutdownSteps {
  let current: string | undefined;
  return {
    async step(name, run) {
      current = name;
      try {
        return await run();
      } finally {
        current = undefined;
      }
    },
    pending: () => current,
  };
}
