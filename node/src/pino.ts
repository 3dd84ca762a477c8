import { parentPort } from 'node:worker_threads';
import build from 'pino-abstract-transport';
import { openDiskBuffer, type BufferStats } from './disk-buffer.js';
import { toServerLog } from './log-line.js';
import { startShipper, type ShipperStats } from './shipper.js';
import { resolveTransportConfig, type TransportOptions } from './transport-config.js';

export type { TransportOptions } from './transport-config.js';

/** What the transport reports: `transport.on('telltale-stats', (stats) => …)` in the app, every second. */
export type TransportStats = BufferStats & ShipperStats;
export const STATS_EVENT = 'telltale-stats';

const STATS_INTERVAL_MS = 1_000;
const WARN_INTERVAL_MS = 60_000;

/** At most one stderr line a minute, whatever keeps going wrong: the app's stderr is not ours to flood. */
function rateLimitedWarn(): (reason: string, message: string) => void {
  let last = -Infinity;
  return (_reason, message) => {
    const now = Date.now();
    if (now - last < WARN_INTERVAL_MS) return;
    last = now;
    process.stderr.write(`@telltale/node: ${message}\n`);
  };
}

/**
 * The pino transport (`target: '@telltale/node/pino'`), run by pino in a worker thread: each line is
 * scrubbed, appended to the local disk buffer (fsync'd by group commit) and shipped in the background.
 * The app's thread only hands lines to pino's ring buffer; nothing here can make it wait.
 */
export default async function telltaleTransport(options: TransportOptions) {
  const config = resolveTransportConfig(options);
  const buffer = await openDiskBuffer({
    dir: config.dir,
    maxBufferBytes: config.maxBufferBytes,
    recordLines: config.batchLines,
  });
  const warn = rateLimitedWarn();
  const shipper = startShipper({
    buffer,
    logsUrl: config.logsUrl,
    key: config.key,
    batchLines: config.batchLines,
    warn,
  });
  const defaults = { service: config.service, release: config.release, environment: config.environment };

  let droppedSeen = 0;
  let lastReport = '';
  const report = (): void => {
    const stats: TransportStats = { ...buffer.stats(), ...shipper.stats() };
    if (stats.droppedFull > droppedSeen) {
      warn(
        'buffer_full',
        `the local buffer is full (cap ${config.maxBufferBytes} bytes, or the disk is behind the app): ${stats.droppedFull} oldest lines dropped so far`,
      );
      droppedSeen = stats.droppedFull;
    }
    const text = JSON.stringify(stats);
    if (text === lastReport) return;
    lastReport = text;
    // thread-stream turns an EVENT message into an event on the app's transport stream.
    parentPort?.postMessage({ code: 'EVENT', name: STATS_EVENT, args: [stats] });
  };
  const timer = setInterval(report, STATS_INTERVAL_MS);
  timer.unref();

  return build(
    (source) => {
      source.on('data', (line: Record<string, unknown>) => {
        buffer.add(JSON.stringify(toServerLog(line, defaults)));
      });
      // A line that is not JSON (another writer on the same stream) is still a line.
      source.on('unknown', (line: string) => {
        buffer.add(JSON.stringify(toServerLog({ msg: line }, defaults)));
      });
    },
    {
      metadata: false,
      async close() {
        clearInterval(timer);
        await buffer.flushed();
        await shipper.stop();
        report();
        await buffer.close();
      },
    },
  );
}
