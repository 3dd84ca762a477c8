import type { TokenCredential } from '@azure/identity';
import {
  isAggregateLogsUploadError,
  LogsIngestionClient,
  type LogsIngestionClientOptions,
} from '@azure/monitor-ingestion';
import { parseRetryAfter } from '../../retry.js';
import type { ExportResult, Sink } from '../types.js';
import { chunkRows, eventToRow, serverLogToRow, type LogAnalyticsRow } from './mapping.js';

export interface LogAnalyticsSinkOptions {
  /** Data collection endpoint (logs ingestion), e.g. https://my-dce-abcd.westeurope-1.ingest.monitor.azure.com */
  endpoint: string;
  /** Immutable id of the data collection rule, `dcr-…`. */
  ruleId: string;
  /** Stream of client events in the rule (default Custom-TelltaleEvents_CL). */
  stream: string;
  /** Stream of server logs in the rule (default Custom-TelltaleServerLogs_CL). */
  serverStream: string;
  /** DefaultAzureCredential in production; tests pass a static one. */
  credential: TokenCredential;
  /** Passed to LogsIngestionClient (e.g. tlsOptions for a private CA). */
  clientOptions?: LogsIngestionClientOptions;
  /** Largest request body in bytes of JSON (the service takes 1 MB per call). */
  maxBodyBytes?: number;
}

/** Logs Ingestion: 1 MB per call; a few parallel calls are well inside 12,000 requests/min per rule. */
export const LA_MAX_BODY_BYTES = 1_000_000;
const PARALLEL_CALLS = 4;
export const LA_BATCHING = Object.freeze({ maxRecords: 1_000, maxBytes: 4 * 1024 * 1024, maxWaitMs: 1_000 });

interface Item {
  key: string;
  row: LogAnalyticsRow;
}

interface Failure {
  items: Item[];
  result: Exclude<ExportResult, { status: 'ok' }>;
}

/** An HTTP status of an upload failure: 429/5xx/408/auth/network wait; 400 and 413 are the data's fault. */
export function classifyUploadFailure(cause: unknown): Exclude<ExportResult, { status: 'ok' }> {
  const error = cause as {
    statusCode?: number;
    message?: string;
    response?: { headers?: { get(name: string): string | undefined } };
  };
  const status = error.statusCode;
  const reason = `${status === undefined ? 'request failed' : `HTTP ${status}`}: ${String(error.message ?? cause).slice(0, 300)}`;
  if (status === 400 || status === 413) return { status: 'rejected', reason };
  const retryAfterMs = parseRetryAfter((name) => error.response?.headers?.get(name));
  return retryAfterMs === undefined
    ? { status: 'retryable', reason }
    : { status: 'retryable', reason, retryAfterMs };
}

async function inParallel<T>(
  items: readonly T[],
  limit: number,
  run: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await run(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Azure Monitor Logs Ingestion through the official client. Retries are ours, not the SDK's (one
 * wrapper for every sink): the client is built with maxRetries 0, and rows a call already delivered
 * are remembered, so a retry sends only what failed (none twice within a run).
 */
export function createLogAnalyticsSink(options: LogAnalyticsSinkOptions, name = 'log-analytics'): Sink {
  const client = new LogsIngestionClient(options.endpoint, options.credential, {
    ...options.clientOptions,
    retryOptions: { maxRetries: 0 },
  });
  const maxBytes = options.maxBodyBytes ?? LA_MAX_BODY_BYTES;
  const delivered = new Set<string>();
  let closed = false;

  async function upload(stream: string, items: Item[]): Promise<ExportResult> {
    if (closed) return { status: 'retryable', reason: 'sink is closed' };
    const unique = new Map<string, Item>();
    for (const item of items)
      if (!delivered.has(item.key) && !unique.has(item.key)) unique.set(item.key, item);
    const pending = [...unique.values()];
    const { chunks, oversized } = chunkRows(
      pending,
      (i) => Buffer.byteLength(JSON.stringify(i.row)),
      maxBytes,
    );
    const failures: Failure[] = [];
    await inParallel(chunks, PARALLEL_CALLS, async (chunk) => {
      const keyOf = new Map(chunk.map((item) => [item.row, item.key]));
      try {
        await client.upload(
          options.ruleId,
          stream,
          chunk.map((item) => item.row),
        );
        for (const item of chunk) delivered.add(item.key);
      } catch (error) {
        if (!isAggregateLogsUploadError(error)) {
          failures.push({ items: chunk, result: classifyUploadFailure(error) });
          return;
        }
        // Only the logs the service refused are retried; the rest of the chunk is done.
        const failed = new Set<string>();
        for (const failure of error.errors) {
          const failedItems = failure.failedLogs.map((row) => ({
            row: row as LogAnalyticsRow,
            key: keyOf.get(row as LogAnalyticsRow) ?? '',
          }));
          for (const item of failedItems) failed.add(item.key);
          failures.push({ items: failedItems, result: classifyUploadFailure(failure.cause) });
        }
        for (const item of chunk) if (!failed.has(item.key)) delivered.add(item.key);
      }
    });
    if (oversized.length > 0)
      failures.push({
        items: oversized,
        result: { status: 'rejected', reason: `a row is over the ${maxBytes}-byte call limit` },
      });

    if (failures.length === 0) {
      for (const item of items) delivered.delete(item.key);
      return { status: 'ok' };
    }
    if (delivered.size > 1_000_000) delivered.clear(); // bounded: rows of rejected batches are never cleared otherwise
    const retryable = failures.map((f) => f.result).filter((r) => r.status === 'retryable');
    if (retryable.length === 0) return failures[0]!.result;
    const waits = retryable.flatMap((r) => (r.retryAfterMs === undefined ? [] : [r.retryAfterMs]));
    const reason = `${failures.reduce((n, f) => n + f.items.length, 0)} of ${items.length} rows failed; ${retryable[0]!.reason}`;
    return waits.length === 0
      ? { status: 'retryable', reason }
      : { status: 'retryable', reason, retryAfterMs: Math.max(...waits) };
  }

  return {
    name,
    batching: LA_BATCHING,
    export: (events) =>
      upload(
        options.stream,
        events.map((e) => ({ key: `${e.app}\u0000${e.id}`, row: eventToRow(e) })),
      ),
    exportServerLogs: (logs) =>
      upload(
        options.serverStream,
        logs.map((l) => ({ key: `s\u0000${l.app}\u0000${l.id}`, row: serverLogToRow(l) })),
      ),
    async close() {
      closed = true;
    },
  };
}
