/**
 * The decode pool's worker (piscina loads this file in each thread): spool payloads → decoded,
 * enriched records, off the HTTP event loop. Keep it free of state: the main thread may retry a
 * chunk inline, and must get the same answer.
 */
import { threadId } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { createColumnWriter, type EventColumns } from './enrich/wire.js';
import { WIRE_ENCODERS } from './sinks/encoders.js';
import { decodeRecord, type SpoolContent } from './sinks/handler.js';
import type { RawBatch, ServerLogRow, WireFormat } from './sinks/types.js';

/** One chunk of records: their payloads back to back in one transferred buffer, cut at `ends`. */
export interface DecodeTask {
  content: SpoolContent;
  bytes: Uint8Array;
  /** End offset of each payload in `bytes`. */
  ends: number[];
  /** The sinks' wire formats to render each client record's events in, beside the columns. */
  formats?: readonly WireFormat[];
  /**
   * False: no consumer of this process needs rows as a rule (every one takes a wire format), so no
   * columns are built or posted; the rare consumer that does (a fallback) decodes the payload again.
   */
  rows?: boolean;
}

/** One wire format's bytes for the chunk: record i's lines are bytes[ends[i-1] … ends[i]) (empty unless a client record). */
export interface EncodedChunk {
  format: WireFormat;
  bytes: Uint8Array;
  ends: number[];
}

/**
 * A result without `raw.payload` (the main thread still holds the bytes and puts them back, no copy
 * home); a client record's events are rows `from`–`to` of the task's columns (enrich/wire.ts).
 */
export type WireDecodeResult = { ok: true; value: WireRecord } | { ok: false; code: string; reason: string };

type WireRaw = Omit<RawBatch, 'payload'>;
type WireRecord =
  | { kind: 'client'; from: number; to: number; count: number; regroupable: string[]; raw: WireRaw }
  | { kind: 'server'; logs: ServerLogRow[]; raw: WireRaw };

export interface DecodeTaskResult {
  /** Which thread did the work, so stats (and tests) can tell the pool really ran it. */
  threadId: number;
  results: WireDecodeResult[];
  /** Every client event of the chunk. */
  columns: EventColumns;
  /** Per requested format, every record's lines. */
  encoded: EncodedChunk[];
}

/**
 * One format's bytes for a chunk, written record by record as each is rendered: a record's text is
 * a rope of hundreds of pieces until something flattens it, and holding the whole chunk's ropes
 * until the end made the worker spend a third of its time in GC (measured: 16 vs 6 µs an event).
 */
interface EncodedWriter {
  /** The next record's text ('' for a record without events: server logs, poison). */
  add(text: string): void;
  finish(): EncodedChunk;
}

function createEncodedWriter(format: WireFormat): EncodedWriter {
  // Its own ArrayBuffer (never the shared Buffer pool): only the chunk's bytes travel back.
  let bytes = Buffer.allocUnsafeSlow(256 * 1024);
  let length = 0;
  const ends: number[] = [];
  return {
    add(text) {
      if (text !== '') {
        const needed = length + Buffer.byteLength(text);
        if (needed > bytes.length) {
          const bigger = Buffer.allocUnsafeSlow(Math.max(needed, bytes.length * 2));
          bytes.copy(bigger, 0, 0, length);
          bytes = bigger;
        }
        length += bytes.write(text, length);
      }
      ends.push(length);
    },
    finish() {
      // A view of the writer's own ArrayBuffer, which the answer transfers (decodeTask): no copy.
      return { format, bytes: bytes.subarray(0, length), ends };
    },
  };
}

/**
 * The thread's task: decodeChunk's answer with its byte buffers (wire formats, columns) transferred
 * to the main thread instead of copied there by a structured clone — three copies of every encoded
 * byte (out of the writer, into the message, out of it) were ~7% of a worker's time. Every buffer
 * it moves belongs to this answer alone (the writers' and the column writer's own ArrayBuffers).
 */
export default function decodeTask(task: DecodeTask): DecodeTaskResult {
  const answer = decodeChunk(task);
  const buffers = new Set<ArrayBuffer>();
  for (const { bytes } of answer.encoded) buffers.add(bytes.buffer as ArrayBuffer);
  const { refs, numbers, flags } = answer.columns;
  for (const array of [refs, numbers, flags]) buffers.add(array.buffer as ArrayBuffer);
  // piscina posts `valueSymbol`'s value with `transferableSymbol`'s list; the main thread gets the answer.
  return move({ [transferableSymbol]: [...buffers], [valueSymbol]: answer }) as unknown as DecodeTaskResult;
}

/** One chunk decoded and rendered (pure: the same answer inline and in any thread). */
export function decodeChunk(task: DecodeTask): DecodeTaskResult {
  const bytes = Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength);
  const results: WireDecodeResult[] = [];
  const columns = createColumnWriter();
  const rows = task.rows !== false;
  const formats = (task.formats ?? []).filter((format) => WIRE_ENCODERS[format] !== undefined);
  const writers = formats.map(createEncodedWriter);
  const noText = (): void => writers.forEach((writer) => writer.add(''));
  let start = 0;
  for (const end of task.ends) {
    const result = decodeRecord(bytes.subarray(start, end), task.content);
    start = end;
    if (!result.ok) {
      results.push(result);
      noText();
      continue;
    }
    const { value } = result;
    const { payload: _payload, ...raw } = value.raw;
    if (value.kind === 'server') {
      results.push({ ok: true, value: { kind: 'server', logs: value.logs, raw } });
      noText();
      continue;
    }
    const from = columns.rows();
    if (rows) for (const event of value.events) columns.add(event);
    for (const [i, format] of formats.entries()) writers[i]!.add(WIRE_ENCODERS[format]!(value.events));
    const regroupable = [...(value.regroupable ?? [])];
    const count = value.events.length;
    results.push({ ok: true, value: { kind: 'client', from, to: columns.rows(), count, regroupable, raw } });
  }
  const encoded = writers.map((writer) => writer.finish());
  return { threadId, results, columns: columns.finish(), encoded };
}
