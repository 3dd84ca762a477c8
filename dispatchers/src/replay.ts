import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { openSpoolReader, type SpoolPosition } from '@telltale/spool';
import { dataLayout, TelltaleError } from '@telltale/protocol';
import { openErrorIntelligence } from './intelligence/index.js';
import { resolveDispatcherConfig } from './config.js';
import {
  retryUntil,
  containerFromConnectionString,
  archiveBlobDay,
  decodeRecord,
  type DecodedRecord,
  type SpoolContent,
  duckDbFile,
  type SinkFactoryDeps,
  SINK_KINDS,
  type SinkKind,
  type ExportResult,
  type Sink,
} from './pipeline/index.js';
import { buildSinkPipeline } from './sink-pipeline.js';

/**
 * Re-shipping outside the running dispatchers (the CLI's `telltale replay` and `telltale dlq replay`):
 * open one sink from the configuration through the live consumers' pipeline (regrouping on source
 * maps, circuit breaker: buildSinkPipeline), read records from the spools, the Blob archive or the
 * dead letters, export them with the same retry policy. DuckDB and ClickHouse dedupe on (app, id), so
 * replaying twice is harmless there; Log Analytics keeps duplicates (its queries count distinct ids).
 */

export interface ReplayTarget {
  sink: Sink;
  close(): Promise<void>;
}

export function isSinkKind(name: string): name is SinkKind {
  return (SINK_KINDS as readonly string[]).includes(name);
}

/**
 * Opens a configured sink by name, wrapped like a live consumer's; DuckDB is opened from the data
 * dir (stop the server first: one writer per file). Source maps, group states and mute rules are
 * read from the data dir, never written.
 */
export async function openReplaySink(
  name: string,
  options: { dataDir?: string; env: NodeJS.ProcessEnv; deps?: SinkFactoryDeps },
): Promise<ReplayTarget> {
  if (!isSinkKind(name))
    throw new TelltaleError(
      'TELLTALE_ERR_INVALID_CONFIG',
      `--sink: "${name}" is not a sink (choose from ${SINK_KINDS.join(', ')})`,
    );
  const config = resolveDispatcherConfig(
    { ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }), sinks: [name] },
    options.env,
  );
  let duckdb: DuckDBInstance | undefined = options.deps?.duckdb;
  const ownDuckDb = name === 'duckdb' && duckdb === undefined;
  if (ownDuckDb) {
    try {
      duckdb = await DuckDBInstance.create(duckDbFile(config.dataDir));
    } catch (error) {
      throw new Error(
        `cannot open ${duckDbFile(config.dataDir)} (${(error as Error).message.split('\n')[0]}); ` +
          'DuckDB allows one writing process: stop the Telltale server, then replay',
      );
    }
  }
  const intel = await openErrorIntelligence(config).catch((error: unknown) => {
    if (ownDuckDb) duckdb?.closeSync();
    throw error;
  });
  let sink: Sink;
  try {
    sink = await buildSinkPipeline(name, config, { ...options.deps, duckdb }, intel);
  } catch (error) {
    await intel.close();
    if (ownDuckDb) duckdb?.closeSync();
    throw error;
  }
  return {
    sink,
    async close() {
      try {
        await sink.close();
      } finally {
        await intel.close();
        if (ownDuckDb) duckdb?.closeSync();
      }
    },
  };
}

/** The spools under a data dir, with what they hold. */
export function spoolsOf(dataDir: string): Array<{ dir: string; content: SpoolContent }> {
  return [
    { dir: dataLayout(dataDir).spool('client'), content: 'client' },
    { dir: dataLayout(dataDir).spool('server'), content: 'server' },
    { dir: dataLayout(dataDir).spool('blob'), content: 'mixed' },
  ];
}

export interface ReplayItem {
  /** Where it came from, for messages: `spool/client@3:1024`, a blob name, a dead-letter entry. */
  origin: string;
  payload: Buffer;
  content: SpoolContent;
}

/** Every record of a spool, oldest first (whatever retention of the spool has left). */
export async function* readSpool(dir: string, content: SpoolContent): AsyncGenerator<ReplayItem> {
  const reader = openSpoolReader({ dir });
  let position: SpoolPosition = { segment: 0, offset: 0 };
  for (;;) {
    const records = await reader.read(position, 500);
    if (records.length === 0) return;
    for (const r of records)
      yield {
        origin: `${path.basename(dir)}@${r.position.segment}:${r.position.offset}`,
        payload: r.payload,
        content,
      };
    position = records[records.length - 1]!.next;
  }
}

/** Archive blobs whose day prefix lies in [fromDay, toDay], with their bytes. */
export async function* readArchive(
  connectionString: string,
  container: string,
  fromDay: string,
  toDay: string,
  app?: string,
): AsyncGenerator<ReplayItem> {
  const client = containerFromConnectionString(connectionString, container);
  for await (const blob of client.listBlobsFlat(app === undefined ? {} : { prefix: `${app}/` })) {
    const day = archiveBlobDay(blob.name);
    if (day === undefined || day < fromDay || day > toDay) continue;
    const bytes = await client.getBlobClient(blob.name).downloadToBuffer();
    const payload = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
    yield { origin: blob.name, payload, content: 'mixed' };
  }
}

export interface ShipOutcome {
  events: number;
  logs: number;
  /** Items that could not be decoded or that the sink refused, with the reason. */
  failed: Array<{ origin: string; reason: string }>;
}

async function exportOnce(sink: Sink, decoded: DecodedRecord[]): Promise<ExportResult> {
  const raws = decoded.map((d) => d.raw);
  if (decoded[0]?.kind === 'server') {
    if (sink.exportServerLogs === undefined) return { status: 'ok' };
    return sink.exportServerLogs(
      decoded.flatMap((d) => (d.kind === 'server' ? d.logs : [])),
      raws,
    );
  }
  return sink.export(
    decoded.flatMap((d) => (d.kind === 'client' ? d.events : [])),
    raws,
  );
}

/** Exports a group of one kind until ok or rejected; gives up (throws) when the sink stays down past the deadline. */
async function exportUntilAnswered(
  sink: Sink,
  decoded: DecodedRecord[],
  deadlineMs: number,
): Promise<ExportResult> {
  return retryUntil<ExportResult>(
    async () => {
      const result = await exportOnce(sink, decoded);
      return result.status === 'retryable'
        ? {
            done: false,
            reason: result.reason,
            ...(result.retryAfterMs === undefined ? {} : { retryAfterMs: result.retryAfterMs }),
          }
        : { done: true, value: result };
    },
    { deadlineMs },
  );
}

/** Decodes and exports a chunk of items; a rejected chunk is retried item by item so one bad batch costs only itself. */
export async function shipItems(
  sink: Sink,
  items: readonly ReplayItem[],
  deadlineMs = 300_000,
): Promise<ShipOutcome> {
  const outcome: ShipOutcome = { events: 0, logs: 0, failed: [] };
  const good: Array<{ item: ReplayItem; decoded: DecodedRecord }> = [];
  for (const item of items) {
    const result = decodeRecord(item.payload, item.content);
    if (result.ok) good.push({ item, decoded: result.value });
    else outcome.failed.push({ origin: item.origin, reason: `${result.code}: ${result.reason}` });
  }
  const count = (decoded: DecodedRecord): void => {
    if (decoded.kind === 'client') outcome.events += decoded.events.length;
    else if (sink.exportServerLogs !== undefined) outcome.logs += decoded.logs.length;
  };
  for (const kind of ['client', 'server'] as const) {
    const group = good.filter((g) => g.decoded.kind === kind);
    if (group.length === 0) continue;
    const result = await exportUntilAnswered(
      sink,
      group.map((g) => g.decoded),
      deadlineMs,
    );
    if (result.status === 'ok') {
      group.forEach((g) => count(g.decoded));
      continue;
    }
    for (const g of group) {
      const single = group.length === 1 ? result : await exportUntilAnswered(sink, [g.decoded], deadlineMs);
      if (single.status === 'ok') count(g.decoded);
      else
        outcome.failed.push({
          origin: g.item.origin,
          reason: `${sink.name}: ${single.status === 'rejected' ? single.reason : ''}`,
        });
    }
  }
  return outcome;
}

/** The receive time and app of a record, without enriching it (for --since / --app filters). */
export function recordHeader(payload: Buffer): { app: string; receivedAt: number } | undefined {
  try {
    const parsed = JSON.parse(payload.toString('utf8')) as { app?: unknown; receivedAt?: unknown };
    return typeof parsed.app === 'string' && typeof parsed.receivedAt === 'number'
      ? { app: parsed.app, receivedAt: parsed.receivedAt }
      : undefined;
  } catch {
    return undefined;
  }
}
