import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { TelltaleError } from '@telltale/protocol';
import { openJournalWriter } from './journal-writer.js';
import { rateLimitedWarn, segmentMaxBytes, STATS_EVENT, type TransportStats } from './shipping.js';
import { FLUSH_BEFORE_RESPONSE } from './request-line.js';
import { resolveTransportConfig, type TransportOptions } from './transport-config.js';

// Counters go to the worker this often, so its reports carry them (a message per line would cost the app).
const COUNTERS_INTERVAL_MS = 500;
// A shipping worker that died (a bug, out of memory) is started again after this long; lines wait on disk.
const RESTART_DELAY_MS = 30_000;

/**
 * The shipping worker's file: beside this module when it runs built (dist/, or a bundle that put
 * ship-worker.js next to it); from the package's dist/ when this module is its TypeScript source
 * (vitest, tsx), since a worker thread cannot load TypeScript on Node 20.
 */
export function shipWorkerUrl(from: string = import.meta.url): URL {
  const candidates = [new URL('./ship-worker.js', from), new URL('../dist/ship-worker.js', from)];
  const found = candidates.find((url) => url.protocol !== 'file:' || existsSync(fileURLToPath(url)));
  if (found === undefined)
    throw new TelltaleError(
      'TELLTALE_ERR_INVALID_CONFIG',
      `telltaleDestination: its shipping worker (ship-worker.js) is missing beside ${fileURLToPath(from)} and in the package's dist/; build @telltale/node (npx tsc -b), or copy ship-worker.js next to a bundled destination`,
    );
  return found;
}

/** A pino destination (`pino(options, telltaleDestination({ endpoint, key, dir }))`). */
export interface TelltaleDestination extends EventEmitter {
  /** True until close(): what pino looks for to take `pino(destination)` as a stream, not options. */
  writable: boolean;
  /** pino calls it once per line: the line reaches the local journal (page cache) when the caller yields. */
  write(line: string): boolean;
  /** Writes the lines of this turn to the journal now (pino's `logger.flush()` calls it). */
  flush(callback?: (error?: Error) => void): void;
  flushSync(): void;
  /** Stops shipping (after the request in flight) and closes the journal; unsent lines ship at the next start. */
  close(): Promise<void>;
  end(): void;
  stats(): TransportStats;
}

/**
 * The default way to send a Node app's pino lines to Telltale: the lines of each turn of the app's
 * event loop go to the local journal with one synchronous write on the app's thread (no fsync, no
 * network) as soon as the code that logged them yields, so a kill -9 of the app loses no line logged
 * before its code last yielded (only lines of the turn it interrupts, at most 64 Ki characters); a worker thread
 * reads the journal, scrubs, ships and fsyncs it every second. The app never waits on the collector.
 */
export function telltaleDestination(options: TransportOptions): TelltaleDestination {
  const config = resolveTransportConfig(options, 'telltaleDestination');
  const workerUrl = shipWorkerUrl();
  const writer = openJournalWriter({
    dir: config.dir,
    segmentMaxBytes: segmentMaxBytes(config.maxBufferBytes),
    who: 'telltaleDestination',
  });
  const warn = rateLimitedWarn();
  const emitter = new EventEmitter();
  let received = 0;
  let closed = false;
  let worker: Worker | undefined;
  let last: TransportStats | undefined;
  const counters = () => ({ received, ...writer.counters() });

  const start = (): void => {
    const current = new Worker(workerUrl, {
      workerData: { config },
    });
    worker = current;
    current.unref(); // the app exits when it is done; lines not shipped wait on disk
    current.on('message', (message: { type: string; stats?: TransportStats }) => {
      if (message.type === 'stats' && message.stats) {
        last = { ...message.stats, received, written: writer.counters().written };
        emitter.emit(STATS_EVENT, last);
      } else if (message.type === 'ready') emitter.emit('ready');
    });
    current.on('error', (error) => {
      warn('worker', `the shipping worker failed (${error.message.slice(0, 200)}); lines stay on disk`);
    });
    current.on('exit', () => {
      if (worker === current) worker = undefined;
      if (closed) return;
      setTimeout(() => closed || start(), RESTART_DELAY_MS).unref();
    });
  };
  start();
  const sendCounters = setInterval(
    () => worker?.postMessage({ type: 'counters', counters: counters() }),
    COUNTERS_INTERVAL_MS,
  );
  sendCounters.unref();

  const close = async (): Promise<void> => {
    if (closed) return;
    writer.flush(); // the worker's last fsync covers them
    closed = true;
    destination.writable = false;
    clearInterval(sendCounters);
    const running = worker;
    if (running !== undefined) {
      running.postMessage({ type: 'counters', counters: counters() });
      await new Promise<void>((resolve) => {
        running.once('exit', () => resolve());
        running.on('message', (message: { type: string }) => {
          if (message.type === 'stopped') void running.terminate();
        });
        running.postMessage({ type: 'stop' });
      });
    }
    writer.close();
    emitter.emit('close');
  };

  const destination = Object.assign(emitter, {
    writable: true,
    write(line: string): boolean {
      received += 1;
      if (!closed) writer.append(line);
      return true;
    },
    // pino's logger.flush(cb): cb gets an error when the disk refused the lines (they are counted as droppedFull).
    flush(callback?: (error?: Error) => void): void {
      if (writer.flush()) callback?.();
      else
        callback?.(
          new Error(
            'telltale: the local journal refused log lines (disk full or failing); they are lost and counted in droppedFull',
          ),
        );
    },
    flushSync(): void {
      writer.flush();
    },
    // The fastify plugin and express middleware call it before a response's headers go out.
    [FLUSH_BEFORE_RESPONSE]: (): void => void writer.flush(),
    close,
    end(): void {
      void close();
    },
    stats(): TransportStats {
      const { written, failed } = writer.counters();
      return last
        ? { ...last, received, written }
        : {
            received,
            written,
            droppedFull: failed,
            bufferBytes: 0,
            maxBufferBytes: config.maxBufferBytes,
            shipped: 0,
            rejected: 0,
            retries: 0,
            lastError: null,
          };
    },
  });
  return destination;
}
