import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { alertLogFile, startKafkaAlertReader, type AlertSummary } from '@telltale/dispatchers';
import { dataLayout, type KafkaSettings } from '@telltale/protocol';
import type { ListAlerts } from '@telltale/dashboards';

/**
 * The alert log of a data dir, read (never written) by a dashboards process that runs apart from
 * the dispatchers: re-read when the file changed, merged by key (a later line updates an alert, the
 * first fixes its time), newest first. The dispatchers' alerter stays the only writer.
 */
export interface AlertLogReader {
  listAlerts: ListAlerts;
  readAlert(key: string): Promise<string | null>;
}

interface Loaded {
  version: string;
  /** Oldest first. */
  alerts: AlertSummary[];
}

const time = (value: string): number => {
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? 0 : parsed;
};

function parse(text: string): AlertSummary[] {
  const byKey = new Map<string, AlertSummary>();
  // The last line may be torn by a writer mid-append: it fails to parse and is skipped, not cut.
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    const record = value as Partial<AlertSummary> & { seen?: boolean; text?: unknown; html?: unknown };
    if (typeof record.key !== 'string' || typeof record.status !== 'string' || record.seen === true) continue;
    const {
      text: _text,
      html: _html,
      messageId: _id,
      ...summary
    } = record as AlertSummary & Record<string, unknown>;
    const before = byKey.get(record.key);
    byKey.set(record.key, before ? { ...before, ...summary, createdAt: before.createdAt } : summary);
  }
  return [...byKey.values()].sort(
    (a, b) => time(a.createdAt) - time(b.createdAt) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
}

export function openAlertLogReader(dataDir: string): AlertLogReader {
  const file = alertLogFile(dataDir);
  let loaded: Loaded = { version: '', alerts: [] };
  async function current(): Promise<AlertSummary[]> {
    const info = await stat(file).catch(() => undefined);
    const version = info === undefined ? 'absent' : `${info.size}:${info.mtimeMs}:${info.ino}`;
    if (version !== loaded.version) {
      const text = info === undefined ? '' : await readFile(file, 'utf8').catch(() => '');
      loaded = { version, alerts: parse(text) };
    }
    return loaded.alerts;
  }
  const before = (a: AlertSummary, p: { time: number; key: string }): boolean =>
    time(a.createdAt) < p.time || (time(a.createdAt) === p.time && a.key < p.key);
  return {
    async listAlerts(query = {}) {
      const all = await current();
      const limit = query.limit ?? all.length;
      if (query.before === undefined && query.after !== undefined) {
        const after = query.after;
        const newer = all.filter(
          (a) => !before(a, after) && !(time(a.createdAt) === after.time && a.key === after.key),
        );
        return newer.slice(0, limit).reverse();
      }
      const bound = query.before;
      const older = bound === undefined ? all : all.filter((a) => before(a, bound));
      return older.slice(Math.max(0, older.length - limit)).reverse();
    },
    async readAlert(key) {
      const alert = (await current()).find((a) => a.key === key);
      if (alert?.file === undefined) return null;
      // <data>/outbox/ (ARCHITECTURE.md); only a bare file name, since the key came from a URL.
      return readFile(path.join(dataLayout(dataDir).outbox, path.basename(alert.file)), 'utf8').catch(
        () => null,
      );
    },
  };
}

/**
 * Where a dashboards process lists alerts: with Kafka, the alert-log topic the deciders write
 * (`startKafkaAlertReader` of the dispatchers, tailed, never written); without, the data dir's log.
 */
export async function openAlertList(
  dataDir: string,
  kafka: KafkaSettings | undefined,
): Promise<AlertLogReader & { close(): Promise<void> }> {
  if (kafka !== undefined) return startKafkaAlertReader({ settings: kafka, dataDir });
  return { ...openAlertLogReader(dataDir), close: async () => undefined };
}
