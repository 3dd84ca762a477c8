import { dataLayout } from '@telltale/protocol';
import { createAlertIndex } from './alert-index.js';
import {
  isAlertRecord,
  isSeenMarker,
  type AlertLog,
  type AlertRecord,
  type SeenMarker,
} from './alert-log-types.js';
import { openJsonLinesLog } from '../intelligence/index.js';

export * from './alert-log-types.js';

/** Lines allowed beyond twice the keys before a rewrite: small logs are never worth one. */
const COMPACTION_SLACK_LINES = 1_000;

export function alertLogFile(dataDir: string): string {
  return dataLayout(dataDir).alertLog;
}

/**
 * The one-process alert log: a local JSON-lines file, fsync'd per append. Loads it line by line
 * (cutting a line torn by a crash) and opens it for appending.
 */
export async function openAlertLog(dataDir: string): Promise<AlertLog> {
  const file = alertLogFile(dataDir);
  const index = createAlertIndex();
  const log = await openJsonLinesLog<AlertRecord | SeenMarker>(
    file,
    (value): value is AlertRecord | SeenMarker => isAlertRecord(value) || isSeenMarker(value),
    (line) => (isSeenMarker(line) ? index.markSeen(line.key) : index.merge(line)),
  );

  // Appends and rewrites run one at a time, each changing memory only once its lines are durable.
  let tail: Promise<unknown> = Promise.resolve();
  function serial<T>(step: () => Promise<T>): Promise<T> {
    const run = tail.then(step);
    tail = run.catch(() => undefined);
    return run;
  }

  return {
    file,
    has: index.has,
    get: index.get,
    pending: () => index.withStatus('pending'),
    withStatus: index.withStatus,
    count: index.count,
    list: index.list,
    newest: index.newest,
    append: (batch) =>
      serial(async () => {
        await log.append(batch);
        for (const record of batch) index.merge(record);
      }),
    size: () => ({ lines: log.lines, ...index.size() }),
    needsCompaction: () => {
      const { records, seen } = index.size();
      return log.lines > 2 * (records + seen) + COMPACTION_SLACK_LINES;
    },
    hasExpired: index.hasExpired,
    compact: (options = {}) =>
      serial(async () => {
        const { expired, markers, kept } = index.planExpiry(options.retainSince);
        await log.rewrite([...markers.map((key): SeenMarker => ({ key, seen: true })), ...kept]);
        index.dropExpired(expired);
        return { expired: expired.size, lines: log.lines };
      }),
    close: async () => {
      await tail;
      await log.close();
    },
  };
}
