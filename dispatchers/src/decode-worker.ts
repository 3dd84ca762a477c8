/**
 * The decode pool's worker (piscina loads this file in each thread): spool payloads → decoded,
 * enriched records, off the HTTP event loop. Keep it free of state: the main thread may retry a
 * chunk inline, and must get the same answer.
 */
import { threadId } from 'node:worker_threads';
import { decodeRecord, type DecodedRecord, type SpoolContent } from './sinks/handler.js';
import type { RawBatch } from './sinks/types.js';

/** One chunk of records: their payloads back to back in one transferred buffer, cut at `ends`. */
export interface DecodeTask {
  content: SpoolContent;
  bytes: Uint8Array;
  /** End offset of each payload in `bytes`. */
  ends: number[];
}

/** A result without `raw.payload`: the main thread still holds the bytes and puts them back (no copy home). */
export type WireDecodeResult =
  { ok: true; value: WireRecord<DecodedRecord> } | { ok: false; code: string; reason: string };

type WireRecord<T> = T extends { raw: RawBatch }
  ? Omit<T, 'raw'> & { raw: Omit<RawBatch, 'payload'> }
  : never;

export interface DecodeTaskResult {
  /** Which thread did the work, so stats (and tests) can tell the pool really ran it. */
  threadId: number;
  results: WireDecodeResult[];
}

export default function decodeChunk(task: DecodeTask): DecodeTaskResult {
  const bytes = Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength);
  const results: WireDecodeResult[] = [];
  let start = 0;
  for (const end of task.ends) {
    const result = decodeRecord(bytes.subarray(start, end), task.content);
    start = end;
    if (!result.ok) {
      results.push(result);
      continue;
    }
    const { payload: _payload, ...raw } = result.value.raw;
    results.push({ ok: true, value: { ...result.value, raw } });
  }
  return { threadId, results };
}
