/**
 * The decode pool's worker (piscina loads this file in each thread): spool payloads → decoded,
 * enriched records, off the HTTP event loop. Keep it free of state: the main thread may retry a
 * chunk inline, and must get the same answer.
 */
import { threadId } from 'node:worker_threads';
import { createColumnWriter, type EventColumns } from './enrich/wire.js';
import { decodeRecord, type SpoolContent } from './sinks/handler.js';
import type { RawBatch, ServerLogRow } from './sinks/types.js';

/** One chunk of records: their payloads back to back in one transferred buffer, cut at `ends`. */
export interface DecodeTask {
  content: SpoolContent;
  bytes: Uint8Array;
  /** End offset of each payload in `bytes`. */
  ends: number[];
}

/**
 * A result without `raw.payload` (the main thread still holds the bytes and puts them back, no copy
 * home); a client record's events are rows `from`–`to` of the task's columns (enrich/wire.ts).
 */
export type WireDecodeResult = { ok: true; value: WireRecord } | { ok: false; code: string; reason: string };

type WireRaw = Omit<RawBatch, 'payload'>;
type WireRecord =
  | { kind: 'client'; from: number; to: number; raw: WireRaw }
  | { kind: 'server'; logs: ServerLogRow[]; raw: WireRaw };

export interface DecodeTaskResult {
  /** Which thread did the work, so stats (and tests) can tell the pool really ran it. */
  threadId: number;
  results: WireDecodeResult[];
  /** Every client event of the chunk. */
  columns: EventColumns;
}

export default function decodeChunk(task: DecodeTask): DecodeTaskResult {
  const bytes = Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength);
  const results: WireDecodeResult[] = [];
  const columns = createColumnWriter();
  let start = 0;
  for (const end of task.ends) {
    const result = decodeRecord(bytes.subarray(start, end), task.content);
    start = end;
    if (!result.ok) {
      results.push(result);
      continue;
    }
    const { value } = result;
    const { payload: _payload, ...raw } = value.raw;
    if (value.kind === 'server') {
      results.push({ ok: true, value: { kind: 'server', logs: value.logs, raw } });
      continue;
    }
    const from = columns.rows();
    for (const event of value.events) columns.add(event);
    results.push({ ok: true, value: { kind: 'client', from, to: columns.rows(), raw } });
  }
  return { threadId, results, columns: columns.finish() };
}
