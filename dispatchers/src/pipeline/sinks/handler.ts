import type { SpoolPosition } from '@telltale/spool';
import { LRUCache } from 'lru-cache';
import type { DeadLetterOrigin, DeadLetterWriter } from '../dead-letter.js';
import type { DecodePool } from '../decode-pool.js';
import { regroupableKeys } from '../../intelligence/index.js';
import { decodeEnvelope } from '../decode.js';
import { enrichEnvelope, type EnrichedEvent } from '../enrich/enrich.js';
import { decodeServerLogEnvelope, serverLogBatchId, serverLogRows } from '../sources/server-log/decode.js';
import type { PrefetchingHandler } from '../sources/consumer.js';
import type { HandleResult, SourceRecord } from '../sources/types.js';
import type { EncodedEvents, ExportResult, RawBatch, ServerLogRow, Sink, WireFormat } from './types.js';

/**
 * How a source names its records: `key` for the decode cache its consumers share (unique within
 * that source, the same for every consumer reading the same record), `origin` for dead letters.
 */
export interface RecordIdentity<P> {
  key(position: P): string;
  origin(position: P): DeadLetterOrigin;
}

/** The local spools' records: segment and byte offset. */
export const SPOOL_RECORD_IDENTITY: RecordIdentity<SpoolPosition> = Object.freeze({
  key: (position: SpoolPosition) => `${position.segment}:${position.offset}`,
  origin: (position: SpoolPosition) => position,
});

const YIELD_EVERY = 16;

/** What a spool holds: client batches, server-log envelopes, or either (the Blob intake spool). */
export type SpoolContent = 'client' | 'server' | 'mixed';

export type DecodedRecord =
  /**
   * `events` may be a getter that builds the rows on each read (the pool's); read it once. A pool
   * decode also brings `count` (events, without building them), the record's lines in each sink
   * wire format the pool was asked for, and the `app` NUL `release` keys regrouping looks up.
   */
  | {
      kind: 'client';
      events: EnrichedEvent[];
      raw: RawBatch;
      count?: number;
      encoded?: Partial<Record<WireFormat, Buffer>>;
      regroupable?: readonly string[];
      /** The rows decoded again off this thread, when the pool built none (DecodePoolOptions.rows). */
      loadEvents?: () => Promise<EnrichedEvent[]>;
    }
  | { kind: 'server'; logs: ServerLogRow[]; raw: RawBatch };

export type RecordDecodeResult =
  { ok: true; value: DecodedRecord } | { ok: false; code: string; reason: string };

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function looksLikeServerLogs(payload: Buffer): boolean {
  try {
    const parsed = JSON.parse(payload.toString('utf8')) as unknown;
    return typeof parsed === 'object' && parsed !== null && 'logs' in parsed && !('batch' in parsed);
  } catch {
    return false;
  }
}

/** One spool payload → enriched client events or scrubbed server-log rows, plus the raw batch. Pure. */
export function decodeRecord(payload: Buffer, content: SpoolContent): RecordDecodeResult {
  const kind = content === 'mixed' ? (looksLikeServerLogs(payload) ? 'server' : 'client') : content;
  if (kind === 'server') {
    const result = decodeServerLogEnvelope(payload);
    if (!result.ok) return result;
    const { envelope } = result;
    const raw: RawBatch = {
      app: envelope.app,
      receivedAt: envelope.receivedAt,
      batchId: serverLogBatchId(envelope),
      kind,
      payload,
    };
    return { ok: true, value: { kind, logs: serverLogRows(envelope), raw } };
  }
  // Only the client spool holds what the collector validated; the Blob intake spool holds foreign blobs.
  const result = decodeEnvelope(payload, { trusted: content === 'client' });
  if (!result.ok) return result;
  const { envelope } = result;
  try {
    const raw: RawBatch = {
      app: envelope.app,
      receivedAt: envelope.receivedAt,
      batchId: envelope.batch.batchId,
      kind,
      payload,
    };
    const events = enrichEnvelope(envelope);
    return {
      ok: true,
      value: { kind, events, raw, count: events.length, regroupable: regroupableKeys(events) },
    };
  } catch (error) {
    return { ok: false, code: 'enrich_failed', reason: describe(error) };
  }
}

/**
 * Payloads decoded on this thread in order, letting the collector answer requests in between: the
 * inline path (TELLTALE_DISPATCH_THREADS=0, no pool) and the pool's fallback when a worker fails.
 */
export async function decodeRecordsInline(
  payloads: readonly Buffer[],
  content: SpoolContent,
): Promise<RecordDecodeResult[]> {
  const out: RecordDecodeResult[] = [];
  for (const [index, payload] of payloads.entries()) {
    if (index % YIELD_EVERY === YIELD_EVERY - 1) await new Promise((resolve) => setImmediate(resolve));
    out.push(decodeRecord(payload, content));
  }
  return out;
}

/**
 * Decoded records shared by the consumers of one spool: they read the same records at about the same
 * time, and decoding + enrichment is most of their CPU. It holds the decode in flight, so a second
 * consumer asking for a record being decoded waits for that result instead of decoding it again.
 * An entry goes as soon as every reader took it; the bounds (payload bytes and records, sized for
 * the largest hand-over read ahead) only matter when one consumer falls far behind (a sink down),
 * and then the oldest go first. A failed decode is forgotten (the next attempt runs it again).
 */
export interface DecodeCache {
  /** One more consumer reads through this cache (its handler calls this once). */
  addReader(): void;
  get(key: string): Promise<RecordDecodeResult> | undefined;
  /** `bytes`: the payload's size, the measure of what the decoded record holds. */
  set(key: string, value: Promise<RecordDecodeResult>, bytes?: number): void;
  /** Entries held now (stats, tests). */
  size(): number;
}

export interface DecodeCacheLimits {
  /** Most records held (default 8,192: two ClickHouse hand-overs of 2,000 for each of two consumers). */
  maxRecords?: number;
  /** Most payload bytes held (default 96 MiB; decoded rows take about 2–3× that in memory). */
  maxBytes?: number;
}

export function createDecodeCache(limits: DecodeCacheLimits = {}): DecodeCache {
  // peek, never get: eviction goes by age (first set, first out), not by last read.
  const entries = new LRUCache<string, { value: Promise<RecordDecodeResult>; reads: number }>({
    max: limits.maxRecords ?? 8_192,
    maxSize: limits.maxBytes ?? 96 * 1024 * 1024,
  });
  let readers = 0;
  return {
    addReader: () => void (readers += 1),
    get(key) {
      const entry = entries.peek(key);
      if (entry === undefined) return undefined;
      entry.reads += 1;
      // Every reader has it now: nobody will ask again, so hold it no longer.
      if (entry.reads >= readers) entries.delete(key);
      return entry.value;
    },
    set(key, value, bytes = 0) {
      if (entries.has(key) || readers <= 1) return;
      const entry = { value, reads: 1 };
      // A payload larger than the whole byte bound is not held: the other readers decode it again.
      entries.set(key, entry, { size: Math.max(1, bytes) });
      value.catch(() => {
        if (entries.peek(key) === entry) entries.delete(key);
      });
    },
    size: () => entries.size,
  };
}

type ClientRecord = Extract<DecodedRecord, { kind: 'client' }>;

/** A consumer's own view of a shared decoded record: its rows built on the first read of `events`, then kept. */
function rowsOnDemand(shared: ClientRecord): ClientRecord {
  let rows: EnrichedEvent[] | undefined;
  const { raw, count, encoded, regroupable, loadEvents } = shared;
  return {
    kind: 'client',
    raw,
    get events() {
      return (rows ??= shared.events);
    },
    ...(count === undefined ? {} : { count }),
    ...(encoded === undefined ? {} : { encoded }),
    ...(regroupable === undefined ? {} : { regroupable }),
    ...(loadEvents === undefined ? {} : { loadEvents }),
  };
}

export interface SinkCounters {
  /** Client events the sink accepted (duplicates included: the store drops them). */
  events: number;
  /** Of those, the events it took as wire bytes (exportEncoded), with no row built for it. */
  encodedEvents: number;
  /** Server log lines the sink accepted. */
  logs: number;
  /** Server-log records passed over because the sink does not take server logs. */
  skipped: number;
  lastError: string | undefined;
}

export interface SinkHandlerOptions<P = SpoolPosition> {
  /** The process's decode pool (startDispatchers'): decoding runs in its worker threads. Without it, inline. */
  pool?: Pick<DecodePool, 'decode'>;
  /** How records are named in the cache and in dead letters; required for sources other than a spool. */
  identity?: RecordIdentity<P>;
}

interface HandlerEntry<P> {
  record: SourceRecord<P>;
  value: DecodedRecord;
}

/**
 * Spool records → one sink. Poison is dead-lettered (durably) and left out; retryable answers keep the
 * records for a later attempt, which skips those already accepted (so Log Analytics never gets a batch
 * twice in one run); a rejected export is retried record by record so one bad batch does not take its
 * neighbours down.
 */
export function createSinkHandler(
  sink: Sink,
  deadLetter: DeadLetterWriter,
  counters: SinkCounters,
  content: SpoolContent,
  cache?: DecodeCache,
  options?: SinkHandlerOptions,
): PrefetchingHandler<SpoolPosition>;
export function createSinkHandler<P>(
  sink: Sink,
  deadLetter: DeadLetterWriter,
  counters: SinkCounters,
  content: SpoolContent,
  cache: DecodeCache | undefined,
  options: SinkHandlerOptions<P> & { identity: RecordIdentity<P> },
): PrefetchingHandler<P>;
export function createSinkHandler<P>(
  sink: Sink,
  deadLetter: DeadLetterWriter,
  counters: SinkCounters,
  content: SpoolContent,
  cache?: DecodeCache,
  options: SinkHandlerOptions<P> = {},
): PrefetchingHandler<P> {
  type Rec = SourceRecord<P>;
  type Entry = HandlerEntry<P>;
  const { pool } = options;
  // Only the first overload may leave it out, and there P is SpoolPosition.
  const identity = options.identity ?? (SPOOL_RECORD_IDENTITY as unknown as RecordIdentity<P>);
  const decodeMany = pool === undefined ? decodeRecordsInline : pool.decode.bind(pool);
  // Per record object: its decode (asked for once, by prefetch or the first hand-over), the result
  // (null for poison), and whether the sink has it already.
  const pendingOf = new WeakMap<Rec, Promise<RecordDecodeResult>>();
  const decodedOf = new WeakMap<Rec, DecodedRecord | null>();
  const accepted = new WeakSet<Rec>();
  cache?.addReader();

  /** Starts one decode for the records neither this handler nor the spool's other consumers have. */
  function start(records: readonly Rec[]): void {
    const missing: { record: Rec; key: string }[] = [];
    for (const record of records) {
      if (decodedOf.has(record) || pendingOf.has(record)) continue;
      const key = identity.key(record.position);
      const shared = cache?.get(key);
      if (shared !== undefined) pendingOf.set(record, shared);
      else missing.push({ record, key });
    }
    if (missing.length === 0) return;
    const all = decodeMany(
      missing.map((m) => m.record.payload),
      content,
    );
    for (const [index, { record, key }] of missing.entries()) {
      const one = all.then((results) => results[index]!);
      // A failed decode surfaces once, at the await below; the others must not become unhandled.
      one.catch(() => undefined);
      cache?.set(key, one, record.payload.length);
      pendingOf.set(record, one);
    }
  }

  async function decode(records: readonly Rec[]): Promise<Entry[]> {
    start(records);
    const out: Entry[] = [];
    for (const record of records) {
      let value = decodedOf.get(record);
      if (value === undefined) {
        const pending = pendingOf.get(record)!;
        let result: RecordDecodeResult;
        try {
          result = await pending;
        } catch (error) {
          // Not poison (the pool decodes inline when a worker fails): ask again on the retry.
          pendingOf.delete(record);
          throw error;
        }
        pendingOf.delete(record);
        // Rows from the pool are built on each read of `events` (decode-pool.ts): at most once per
        // consumer here, and only when this sink needs rows (not when it takes the wire bytes).
        if (result.ok) value = result.value.kind === 'client' ? rowsOnDemand(result.value) : result.value;
        else {
          // Poison never blocks the stream: park it with its reason and go on.
          await deadLetter.write(
            identity.origin(record.position),
            record.payload,
            result.code,
            result.reason,
          );
          value = null;
        }
        decodedOf.set(record, value);
      }
      if (value !== null && !accepted.has(record)) out.push({ record, value });
    }
    return out;
  }

  const clientRows = (entries: readonly Entry[]): EnrichedEvent[] =>
    entries.flatMap((e) => (e.value.kind === 'client' ? e.value.events : []));

  /** The hand-over as the sink's wire bytes, when every record came with them (a pool decode). */
  function encodedOf(entries: readonly Entry[], format: WireFormat): EncodedEvents | undefined {
    const chunks: Buffer[] = [];
    const regroupable = new Set<string>();
    let rows = 0;
    for (const { value } of entries) {
      const bytes = value.kind === 'client' ? value.encoded?.[format] : undefined;
      if (value.kind !== 'client' || bytes === undefined || value.count === undefined) return undefined;
      chunks.push(bytes);
      rows += value.count;
      for (const key of value.regroupable ?? []) regroupable.add(key);
    }
    const events = async (records?: readonly number[]): Promise<EnrichedEvent[]> => {
      const wanted = records === undefined ? entries : records.map((i) => entries[i]!);
      const rows = await Promise.all(
        wanted.map(({ value }) =>
          value.kind !== 'client' ? [] : (value.loadEvents?.() ?? Promise.resolve(value.events)),
        ),
      );
      return rows.flat();
    };
    return { chunks, rows, regroupable, events };
  }

  /** Records the last export took as wire bytes: counted as encodedEvents once accepted. */
  const sentEncoded = new WeakSet<Rec>();

  function exportEntries(entries: readonly Entry[]): Promise<ExportResult> {
    const raws = entries.map((e) => e.value.raw);
    const first = entries[0]?.value;
    if (first?.kind === 'server')
      return sink.exportServerLogs!(
        entries.flatMap((e) => (e.value.kind === 'server' ? e.value.logs : [])),
        raws,
      );
    if (sink.encoding !== undefined && sink.exportEncoded !== undefined) {
      const encoded = encodedOf(entries, sink.encoding);
      if (encoded !== undefined) {
        for (const { record } of entries) sentEncoded.add(record);
        return sink.exportEncoded(encoded, raws);
      }
    }
    for (const { record } of entries) sentEncoded.delete(record);
    return sink.export(clientRows(entries), raws);
  }

  function count(entries: readonly Entry[]): void {
    for (const { record, value } of entries) {
      accepted.add(record);
      if (value.kind === 'client') {
        const events = value.count ?? value.events.length;
        counters.events += events;
        if (sentEncoded.has(record)) counters.encodedEvents += events;
      } else counters.logs += value.logs.length;
    }
  }

  /** Exports one kind; undefined when everything was stored or dead-lettered, else the retry answer. */
  async function ship(entries: Entry[]): Promise<HandleResult | undefined> {
    if (entries.length === 0) return undefined;
    const result = await exportEntries(entries);
    if (result.status === 'ok') {
      count(entries);
      return undefined;
    }
    counters.lastError = `${sink.name}: ${result.reason}`;
    if (result.status === 'retryable')
      return result.retryAfterMs === undefined ? 'retry' : { retryAfterMs: result.retryAfterMs };
    for (const entry of entries) {
      const single = entries.length === 1 ? result : await exportEntries([entry]);
      if (single.status === 'ok') count([entry]);
      else if (single.status === 'retryable')
        return single.retryAfterMs === undefined ? 'retry' : { retryAfterMs: single.retryAfterMs };
      else {
        await deadLetter.write(
          identity.origin(entry.record.position),
          entry.record.payload,
          'sink_rejected',
          `${sink.name}: ${single.reason}`,
        );
        accepted.add(entry.record);
      }
    }
    return undefined;
  }

  const handle: PrefetchingHandler<P> = async (records) => {
    const entries = await decode(records);
    const client = entries.filter((e) => e.value.kind === 'client');
    let server = entries.filter((e) => e.value.kind === 'server');
    if (sink.exportServerLogs === undefined && server.length > 0) {
      counters.skipped += server.length;
      for (const e of server) accepted.add(e.record);
      server = [];
    }
    const retry = (await ship(client)) ?? (await ship(server));
    return retry ?? 'done';
  };
  // The consumer hands the next records over here while the sink still inserts the current ones.
  handle.prefetch = start;
  return handle;
}
