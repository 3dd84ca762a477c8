import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { dataLayout, scrubJsonValue, scrubText } from '@telltale/protocol';
import { PRIVATE_DIR_MODE, tightenMode, writeFileDurably, type SpoolRecord } from '@telltale/spool';

/**
 * Records Kafka refuses for good (too large even alone, compressed) leave the forwarder's way here,
 * so one record can never hold back every record after it. Layout like the dispatchers' dead
 * letters: `<data>/dead-letter/kafka-forward/<yyyy-mm-dd>/<spool>-<segment>-<offset>.{payload,reason.json}`,
 * 0700 folders and 0600 files. The payload is a scrubbed copy (protocol's scrubJsonValue), never the
 * raw bytes: a dead letter must not keep more than the stores would.
 */
export const FORWARD_DEAD_LETTER_CONSUMER = 'kafka-forward';
/** Larger records are not parsed for the scrubbed copy: their first 64 KiB are kept as scrubbed text. */
const MAX_SCRUB_JSON_BYTES = 16 * 1024 * 1024;
const MAX_TEXT_COPY_BYTES = 64 * 1024;

export interface ForwardDeadLetterReason {
  consumer: typeof FORWARD_DEAD_LETTER_CONSUMER;
  /** Metric label; `kafka_refused` for a record the broker refused on its own. */
  code: string;
  reason: string;
  spool: string;
  topic: string;
  position: SpoolRecord['position'];
  time: string;
  /** What the payload file replaces, in the dispatchers' dead-letter shape (their health page reads it). */
  payload: { format: 'json' | 'text'; bytes: number; sha256: string; truncated: boolean };
}

export type ForwardDeadLetter = (record: SpoolRecord, code: string, reason: string) => Promise<void>;

function scrubbedCopy(payload: Buffer): { body: string; format: 'json' | 'text' } {
  if (payload.length <= MAX_SCRUB_JSON_BYTES) {
    try {
      const body = JSON.stringify(scrubJsonValue(JSON.parse(payload.toString('utf8')) as unknown));
      return { body, format: 'json' };
    } catch {
      // not JSON (never expected: it was validated when spooled): kept as capped text below
    }
  }
  return { body: scrubText(payload.subarray(0, MAX_TEXT_COPY_BYTES).toString('utf8')), format: 'text' };
}

/** Durable before it resolves: the lane commits its checkpoint past the record right after. */
export function createForwardDeadLetter(dataDir: string, spool: string, topic: string): ForwardDeadLetter {
  const root = dataLayout(dataDir).deadLetters;
  const dir = dataLayout(dataDir).deadLetter(FORWARD_DEAD_LETTER_CONSUMER);
  return async (record, code, reason) => {
    const now = new Date();
    const folder = path.join(dir, now.toISOString().slice(0, 10));
    await mkdir(folder, { recursive: true, mode: PRIVATE_DIR_MODE });
    await tightenMode(root, PRIVATE_DIR_MODE);
    await tightenMode(dir, PRIVATE_DIR_MODE);
    const { segment, offset } = record.position;
    const name = `${spool}-${String(segment).padStart(10, '0')}-${String(offset).padStart(12, '0')}`;
    const copy = scrubbedCopy(record.payload);
    const why: ForwardDeadLetterReason = {
      consumer: FORWARD_DEAD_LETTER_CONSUMER,
      code,
      reason,
      spool,
      topic,
      position: record.position,
      time: now.toISOString(),
      payload: {
        format: copy.format,
        bytes: record.payload.length,
        sha256: createHash('sha256').update(record.payload).digest('hex'),
        truncated: copy.format === 'text' && record.payload.length > MAX_TEXT_COPY_BYTES,
      },
    };
    await writeFileDurably(path.join(folder, `${name}.payload`), copy.body);
    await writeFileDurably(path.join(folder, `${name}.reason.json`), `${JSON.stringify(why, null, 2)}\n`);
  };
}
