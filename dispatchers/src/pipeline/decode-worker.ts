/**
 * The decode pool's worker (piscina loads this file in each thread): spool payloads → decoded,
 * enriched records, off the HTTP event loop. Keep it free of state: the main thread may retry a
 * chunk inline, and must get the same answer.
 */
import { threadId } from 'node:worker_threads';
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
  | { kind: 'client'; from: number; to: number; regroupable: string[]; raw: WireRaw }
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

/** Records' texts (one per result, '' for the others) → one buffer and its end offsets. */
function concatenate(format: WireFormat, texts: readonly string[]): EncodedChunk {
  let total = 0;
  const lengths = texts.map((text) => {
    const length = Buffer.byteLength(text);
    total += length;
    return length;
  });
  // Its own ArrayBuffer (not the shared Buffer pool): only the chunk's bytes travel back.
  const bytes = Buffer.allocUnsafeSlow(total);
  const ends: number[] = [];
  let offset = 0;
  for (const [i, text] of texts.entries()) {
    if (lengths[i]! > 0) bytes.write(text, offset);
    offset += lengths[i]!;
    ends.push(offset);
  }
  return { format, bytes, ends };
}

export default function decodeChunk(task: DecodeTask): DecodeTaskResult {
  const bytes = Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength);
  const results: WireDecodeResult[] = [];
  const columns = createColumnWriter();
  const formats = (task.formats ?? []).filter((format) => WIRE_ENCODERS[format] !== undefined);
  const texts: string[][] = formats.map(() => []);
  const noText = (): void => texts.forEach((list) => list.push(''));
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
    for (const event of value.events) columns.add(event);
    for (const [i, format] of formats.entries()) texts[i]!.push(WIRE_ENCODERS[format]!(value.events));
    const regroupable = [...(value.regroupable ?? [])];
    results.push({ ok: true, value: { kind: 'client', from, to: columns.rows(), regroupable, raw } });
  }
  const encoded = formats.map((format, i) => concatenate(format, texts[i]!));
  return { threadId, results, columns: columns.finish(), encoded };
}
