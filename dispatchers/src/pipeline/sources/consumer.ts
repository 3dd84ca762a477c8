import { backoffDelay, createSleeper, SINK_BACKOFF, type BackoffPolicy } from '../retry.js';
import type {
  Consumer,
  ConsumerStats,
  HandleResult,
  LingerOptions,
  RecordHandler,
  RecordSource,
  SourceRecord,
} from './types.js';

/**
 * A handler that can be told the next records early: `prefetch` starts their decode while the sink
 * still inserts the records before them. Only a hint: `handle` gets the same records later.
 */
export type PrefetchingHandler<P> = RecordHandler<P> & { prefetch?: (records: SourceRecord<P>[]) => void };

export interface ConsumerOptions<P> {
  name: string;
  openSource: () => Promise<RecordSource<P>>;
  handle: PrefetchingHandler<P>;
  /** Most records per handler call. */
  batchSize: number;
  /** Longest wait for new records when no notification arrives, ms. */
  pollMs: number;
  /** Subscribes to "new records" notifications (the collector's spool.onAppend); returns an unsubscribe. */
  notify?: ((listener: () => void) => () => void) | undefined;
  /** Called after each durable commit. */
  onCommit?: ((next: P) => void) | undefined;
  backoff?: BackoffPolicy | undefined;
  /** Gather records up to these limits before each hand-over (bulk sinks); default: hand over what one read returns. */
  linger?: LingerOptions | undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The at-least-once loop shared by every source: read, hand over, commit only once handled.
 * A crash between handling and commit delivers the records again; sinks dedupe on event id.
 */
export function createConsumer<P>(options: ConsumerOptions<P>): Consumer<P> {
  const backoff = options.backoff ?? SINK_BACKOFF;
  // Two sleepers: the read ahead polls while the handler may be backing off, and a notification wakes only the reader.
  const sleeper = createSleeper();
  const backoffSleeper = createSleeper();
  let source: RecordSource<P> | undefined;
  let loop: Promise<void> | undefined;
  let unsubscribe: (() => void) | undefined;
  let stopping = false;
  let notified = false;
  const stats = { records: 0, retries: 0, sourceErrors: 0, lastError: undefined as string | undefined };

  // Never start a sleep once stop() was called: stop must not wait out a 30 s backoff.
  const pause = (ms: number): Promise<void> => (stopping ? Promise.resolve() : sleeper.sleep(ms));
  const backOff = (ms: number): Promise<void> => (stopping ? Promise.resolve() : backoffSleeper.sleep(ms));

  async function handleUntilDone(records: Parameters<RecordHandler<P>>[0]): Promise<boolean> {
    for (let attempt = 1; !stopping; attempt += 1) {
      let result: HandleResult;
      try {
        result = await options.handle(records);
      } catch (error) {
        // A throwing handler is a bug or a broken disk: keep the records and try again, never skip them.
        stats.lastError = describe(error);
        result = 'retry';
      }
      if (result === 'done') return true;
      stats.retries += 1;
      await backOff(
        backoffDelay(attempt, backoff, typeof result === 'object' ? result.retryAfterMs : undefined),
      );
    }
    return false;
  }

  async function commitUntilDone(src: RecordSource<P>, next: P): Promise<boolean> {
    for (let attempt = 1; !stopping || attempt === 1; attempt += 1) {
      try {
        await src.commit(next);
        options.onCommit?.(next);
        return true;
      } catch (error) {
        stats.sourceErrors += 1;
        stats.lastError = `checkpoint commit failed: ${describe(error)}`;
        await backOff(backoffDelay(attempt, backoff));
      }
    }
    return false;
  }

  const bytesOf = (records: readonly SourceRecord<P>[]): number =>
    records.reduce((sum, r) => sum + r.payload.length, 0);

  /** More records after the first read, until a linger limit is reached; a failed read just ends the wait. */
  async function gather(
    src: RecordSource<P>,
    records: SourceRecord<P>[],
    linger: LingerOptions,
  ): Promise<void> {
    const deadline = Date.now() + linger.maxWaitMs;
    let bytes = bytesOf(records);
    while (!stopping && records.length < linger.maxRecords && bytes < linger.maxBytes) {
      notified = false;
      let more: SourceRecord<P>[];
      try {
        more = await src.read(linger.maxRecords - records.length);
      } catch (error) {
        stats.sourceErrors += 1;
        stats.lastError = `read failed: ${describe(error)}`;
        return;
      }
      records.push(...more);
      bytes += bytesOf(more);
      const left = deadline - Date.now();
      if (left <= 0) return;
      if (more.length === 0 && !notified) await pause(Math.min(left, options.pollMs));
    }
  }

  let readFailures = 0;
  const readSize = options.linger?.maxRecords ?? options.batchSize;

  /** The next hand-over: one read, gathered up to the linger limits; [] after a poll wait or a failed read's backoff. */
  async function nextHandOver(src: RecordSource<P>): Promise<SourceRecord<P>[]> {
    notified = false; // a notification from now on means "read again before sleeping"
    let records: SourceRecord<P>[];
    try {
      records = await src.read(readSize);
      readFailures = 0;
    } catch (error) {
      readFailures += 1;
      stats.sourceErrors += 1;
      stats.lastError = `read failed: ${describe(error)}`;
      await pause(backoffDelay(readFailures, backoff));
      return [];
    }
    if (records.length === 0) {
      if (!notified) await pause(options.pollMs);
      return [];
    }
    if (options.linger !== undefined) await gather(src, records, options.linger);
    return records;
  }

  function readAhead(src: RecordSource<P>): Promise<SourceRecord<P>[]> {
    return nextHandOver(src).then((records) => {
      if (records.length > 0 && !stopping) {
        try {
          options.handle.prefetch?.(records);
        } catch (error) {
          stats.lastError = `prefetch failed: ${describe(error)}`; // handle() decodes them again
        }
      }
      return records;
    });
  }

  /**
   * Pipelined: the next hand-over is read (and its decode started) while the sink inserts this one,
   * so decoders and the store work at the same time; with `handOversInFlight` > 1 the sink also gets
   * the next hand-over before this one is answered (ClickHouse parses one insert while the next is
   * built). Checkpoints still advance in order, each only after its records and every earlier
   * hand-over's were handled: a chain of commits, never past a hand-over not yet done.
   */
  async function run(src: RecordSource<P>): Promise<void> {
    const depth = Math.max(1, options.linger?.handOversInFlight ?? 1);
    let ahead: Promise<SourceRecord<P>[]> | undefined;
    let committed: Promise<boolean> = Promise.resolve(true);
    const inFlight: Promise<boolean>[] = [];
    try {
      while (!stopping) {
        const records = await (ahead ?? nextHandOver(src));
        ahead = undefined;
        const last = records[records.length - 1];
        if (last === undefined) {
          // Nothing new: let the hand-overs in flight finish and commit before waiting again.
          while (inFlight.length > 0) if (!(await inFlight.shift())) return;
          continue;
        }
        if (!stopping) ahead = readAhead(src);
        const handled = handleUntilDone(records);
        committed = committed.then(async (earlierDone) => {
          if (!earlierDone || !(await handled)) return false;
          if (!(await commitUntilDone(src, last.next))) return false;
          stats.records += records.length;
          return true;
        });
        inFlight.push(committed);
        while (inFlight.length >= depth) if (!(await inFlight.shift())) return;
      }
    } finally {
      // Read ahead, or handled past a hand-over that was not: the next start reads them again from the checkpoint.
      await committed;
      await ahead;
    }
  }

  return {
    name: options.name,
    async start() {
      if (loop !== undefined) throw new Error(`consumer ${options.name} already started`);
      const src = await options.openSource();
      source = src;
      unsubscribe = options.notify?.(() => {
        notified = true;
        sleeper.wake();
      });
      loop = run(src);
    },
    async stop() {
      stopping = true;
      sleeper.wake();
      backoffSleeper.wake();
      unsubscribe?.();
      await loop;
      await source?.close();
    },
    position() {
      if (source === undefined) throw new Error(`consumer ${options.name} is not started`);
      return source.committed();
    },
    stats(): ConsumerStats<P> {
      return {
        name: options.name,
        position: source?.committed(),
        ...stats,
        running: loop !== undefined && !stopping,
      };
    },
  };
}
