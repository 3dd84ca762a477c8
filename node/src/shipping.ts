import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { JOURNAL_DIR, openJournalReader } from './journal.js';
import { wireLine } from './log-line.js';
import { startShipper, type ShipperStats } from './shipper.js';
import type { TransportConfig } from './transport-config.js';

/** What the app sees (`'telltale-stats'` events, every second when anything changed). */
export interface TransportStats extends ShipperStats {
  /** Lines handed to the logger's destination since it started. */
  received: number;
  /** Lines appended to the local journal since it started. */
  written: number;
  /** Lines dropped: oldest files deleted at the cap, and lines the disk refused (full, failing). */
  droppedFull: number;
  /** Bytes of journal files on disk (shipped files are deleted whole). */
  bufferBytes: number;
  maxBufferBytes: number;
}
export const STATS_EVENT = 'telltale-stats';

/** What the writing side knows (lines in, lines on disk, lines the disk refused). */
export interface WriterCounters {
  received: number;
  written: number;
  failed: number;
}

// fdatasync of the journal, off the app's thread: what a power cut can take back is at most this much.
export const FSYNC_INTERVAL_MS = 1_000;
const WARN_INTERVAL_MS = 60_000;

/** At most one stderr line a minute, whatever keeps going wrong: the app's stderr is not ours to flood. */
export function rateLimitedWarn(): (reason: string, message: string) => void {
  let last = -Infinity;
  return (_reason, message) => {
    const now = Date.now();
    if (now - last < WARN_INTERVAL_MS) return;
    last = now;
    process.stderr.write(`@telltale/node: ${message}\n`);
  };
}

/** Segments small enough that dropping the oldest at the cap costs a sliver of the buffer, not half of it. */
export const segmentMaxBytes = (maxBufferBytes: number): number =>
  Math.max(64 * 1024, Math.min(16 * 1024 * 1024, Math.floor(maxBufferBytes / 16)));

/**
 * The background half, the same for the destination (in its worker) and the pino transport: reads the
 * journal, scrubs and ships it, keeps it under its cap, fsyncs it every second, and reports stats.
 */
export async function startShipping(
  config: TransportConfig,
  options: { counters: () => WriterCounters; report: (stats: TransportStats) => void },
) {
  const defaults = { service: config.service, release: config.release, environment: config.environment };
  const reader = await openJournalReader({
    dir: config.dir,
    toWire: (raw, id) => wireLine(raw, id, defaults),
  });
  const warn = rateLimitedWarn();
  // While idle, the journal's folder is watched (inotify: nothing on the app's thread), so a new line
  // ends the idle wait at once instead of at the next poll; closed again at the first change, so a
  // busy app does not wake the worker for every write. Where watching fails, the poll remains.
  let watcher: FSWatcher | undefined;
  let stopping = false;
  const unwatch = (): void => {
    watcher?.close();
    watcher = undefined;
  };
  const watchJournal = (): void => {
    if (watcher !== undefined || stopping) return;
    try {
      watcher = watch(path.join(config.dir, JOURNAL_DIR), { persistent: false }, () => {
        unwatch();
        shipper.wake();
      });
      watcher.on('error', unwatch);
    } catch {
      watcher = undefined;
    }
  };
  const shipper = startShipper({
    source: reader,
    logsUrl: config.logsUrl,
    key: config.key,
    batchLines: config.batchLines,
    warn,
    onIdle: watchJournal,
  });

  let droppedAtCap = 0;
  let droppedSeen = 0;
  let bufferBytes = 0;
  let lastReport = '';
  const stats = (): TransportStats => {
    const { received, written, failed } = options.counters();
    return {
      received,
      written,
      droppedFull: droppedAtCap + failed,
      bufferBytes,
      maxBufferBytes: config.maxBufferBytes,
      ...shipper.stats(),
    };
  };
  const report = (): void => {
    const current = stats();
    if (current.droppedFull > droppedSeen) {
      warn(
        'buffer_full',
        `the local buffer is full (cap ${config.maxBufferBytes} bytes, or the disk refuses writes): ${current.droppedFull} oldest lines dropped so far`,
      );
      droppedSeen = current.droppedFull;
    }
    const text = JSON.stringify(current);
    if (text === lastReport) return;
    lastReport = text;
    options.report(current);
  };

  let running: Promise<void> | undefined;
  const maintain = async (): Promise<void> => {
    try {
      await reader.sync();
      const cap = await reader.enforceCap(config.maxBufferBytes);
      droppedAtCap += cap.dropped;
      bufferBytes = cap.bytes;
    } catch (error) {
      warn('disk', `the local buffer could not be maintained: ${(error as Error).message.slice(0, 200)}`);
    }
    report();
  };
  const timer = setInterval(() => {
    running ??= maintain().finally(() => (running = undefined));
  }, FSYNC_INTERVAL_MS);
  timer.unref();

  return {
    wake: () => shipper.wake(),
    stats,
    /** Stops after the request in flight; unsent lines stay in the journal for the next start. */
    async stop(): Promise<void> {
      stopping = true;
      unwatch();
      clearInterval(timer);
      await running;
      await shipper.stop();
      await maintain();
    },
  };
}
