import type { EnrichedEvent } from '../../enrich/enrich.js';
import type { ServerLogRow } from '../types.js';

/**
 * Rows of the custom tables `TelltaleEvents_CL` and `TelltaleServerLogs_CL` (deploy/azure/ declares
 * the same columns in the data collection rule's stream and in the table). TimeGenerated is the
 * event's own time; JSON attributes become `dynamic` columns.
 */
export type LogAnalyticsRow = Record<string, string | number | boolean | null | object>;

function json(text: string | null): object | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as object;
  } catch {
    return null;
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function eventToRow(e: EnrichedEvent): LogAnalyticsRow {
  return {
    TimeGenerated: iso(e.ts),
    EventId: e.id,
    App: e.app,
    Kind: e.kind,
    ReceivedAt: iso(e.receivedAt),
    BatchId: e.batchId,
    Release: e.release,
    Environment: e.environment,
    SessionId: e.session,
    UserId: e.userId,
    AccountId: e.accountId,
    Url: e.url,
    TraceId: e.trace,
    Online: e.online,
    Fingerprint: e.fingerprint,
    Name: e.name,
    ErrorType: e.errorType,
    Message: e.message,
    Stack: e.stack,
    Level: e.level,
    Count: e.count,
    Soft: e.soft,
    Attributes: json(e.attrs),
    Breadcrumbs: json(e.breadcrumbs),
    Browser: e.browser,
    BrowserVersion: e.browserVersion,
    Os: e.os,
    OsVersion: e.osVersion,
    Device: e.device,
    LoadMs: e.loadMs,
    AdBlock: e.adblock,
  };
}

export function serverLogToRow(l: ServerLogRow): LogAnalyticsRow {
  return {
    TimeGenerated: iso(l.ts),
    LogId: l.id,
    App: l.app,
    Service: l.service,
    Level: l.level,
    Message: l.message,
    TraceId: l.trace,
    SpanId: l.span,
    SessionId: l.session,
    UserId: l.userId,
    AccountId: l.accountId,
    Release: l.release,
    Environment: l.environment,
    Attributes: json(l.attrs),
    ReceivedAt: iso(l.receivedAt),
  };
}

/**
 * Splits rows into request bodies of at most `maxBytes` of JSON (brackets and commas counted: the
 * SDK's own split ignores them). A row that alone is larger comes back in `oversized`.
 */
export function chunkRows<T>(
  rows: readonly T[],
  sizeOf: (row: T) => number,
  maxBytes: number,
): { chunks: T[][]; oversized: T[] } {
  const chunks: T[][] = [];
  const oversized: T[] = [];
  let chunk: T[] = [];
  let bytes = 2; // []
  for (const row of rows) {
    const size = sizeOf(row) + 1; // the comma
    if (size + 2 > maxBytes) {
      oversized.push(row);
      continue;
    }
    if (bytes + size > maxBytes && chunk.length > 0) {
      chunks.push(chunk);
      chunk = [];
      bytes = 2;
    }
    chunk.push(row);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return { chunks, oversized };
}
