/**
 * Inflated request bytes to the spool payload that will be appended, for the three JSON/protobuf
 * ingest routes. Pure and synchronous: the same function runs inline for small bodies and in the
 * decode pool's workers (ingest-worker.ts) for large ones, so both give the same answer. Every
 * decode counts its structural budget (body-budget.ts) before any parser runs.
 */
import type { ServerLogEnvelope, SpoolEnvelope } from '@telltale/protocol';
import { checkJsonBudget, checkLinesBudget } from './body-budget.js';
import { parseJson, type DecodeFailure } from './decode.js';
import { decodeOtlpRequest, type OtlpFormat } from './otlp/decode-request.js';
import { mapOtlpLogs } from './otlp/logs-map.js';
import { parseServerLogs } from './server-logs.js';
import { normalizeBatchTimes, normalizeLogTime } from './timestamps.js';
import { checkBatch } from './validation.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

interface TaskBase {
  /** The inflated body. */
  raw: Uint8Array;
  app: string;
  receivedAt: number;
  maxValues: number;
}
export interface BatchTask extends TaskBase {
  kind: 'batch';
  userAgent?: string;
}
export interface LogsTask extends TaskBase {
  kind: 'logs';
  maxLines: number;
}
export interface OtlpTask extends TaskBase {
  kind: 'otlp';
  format: OtlpFormat;
}
export type IngestTask = BatchTask | LogsTask | OtlpTask;

/** Times the decode changed, by reason (metrics.timestampsFixed once the payload is stored). */
export type Fixes = Record<string, number>;

export type BatchDecoded = {
  ok: true;
  batchId: string;
  /** The batch's session id: the public-key budgets count per session (public-budgets.ts). */
  session: string;
  events: number;
  fixes: Fixes;
  payload: Uint8Array;
};
export type LogsDecoded = { ok: true; ids: string[]; fixes: Fixes; payload: Uint8Array };
export type OtlpDecoded = {
  ok: true;
  lines: number;
  rejected: number;
  errorMessage: string;
  fixes: Fixes;
  payload: Uint8Array | undefined;
};
export type IngestDecoded = BatchDecoded | LogsDecoded | OtlpDecoded;

function text(raw: Uint8Array): { ok: true; value: string } | DecodeFailure {
  try {
    return { ok: true, value: utf8.decode(raw) };
  } catch {
    return {
      ok: false,
      code: 'TELLTALE_ERR_INVALID_JSON',
      reason: 'invalid_utf8',
      message: 'body is not valid UTF-8',
    };
  }
}

/** The envelope's JSON with the batch's own bytes in place of re-serializing it (the same JSON value). */
function envelopeAround(envelope: SpoolEnvelope, batchJson: Uint8Array): Buffer {
  const { batch: _batch, ...head } = envelope;
  const open = JSON.stringify(head);
  return Buffer.concat([Buffer.from(`${open.slice(0, -1)},"batch":`), batchJson, Buffer.from('}')]);
}

/** POST /v1/batch: budget → JSON → shape and schema → clock → the SpoolEnvelope bytes. */
export function decodeBatch(task: BatchTask): BatchDecoded | DecodeFailure {
  const over = checkJsonBudget(task.raw, task.maxValues);
  if (over) return over;
  const decoded = text(task.raw);
  if (!decoded.ok) return decoded;
  const parsed = parseJson(decoded.value, undefined, { shape: false });
  if (!parsed.ok) return parsed;
  const checked = checkBatch(parsed.value);
  if (!checked.ok) return checked;
  const { batch } = checked;
  const { fixed, changed } = normalizeBatchTimes(batch, task.receivedAt);
  const envelope: SpoolEnvelope = {
    v: 1,
    app: task.app,
    receivedAt: task.receivedAt,
    ...(task.userAgent ? { userAgent: task.userAgent } : {}),
    batch,
  };
  // An exact v1 batch left as it came is stored as the very bytes that were validated.
  const payload =
    checked.exact && !changed ? envelopeAround(envelope, task.raw) : Buffer.from(JSON.stringify(envelope));
  return {
    ok: true,
    batchId: batch.batchId,
    session: batch.session,
    events: batch.events.length,
    fixes: fixed as Fixes,
    payload,
  };
}

/** POST /v1/logs: budget (values and lines) → NDJSON or array → each line's schema → the envelope bytes. */
export function decodeLogs(task: LogsTask): LogsDecoded | DecodeFailure {
  const over = checkLinesBudget(task.raw, task.maxValues, task.maxLines);
  if (over) return over;
  const decoded = text(task.raw);
  if (!decoded.ok) return decoded;
  const parsed = parseServerLogs(decoded.value);
  if (!parsed.ok) return parsed;
  const fixes: Fixes = {};
  for (const line of parsed.lines) {
    const fix = normalizeLogTime(line, task.receivedAt);
    if (fix !== undefined) fixes[fix] = (fixes[fix] ?? 0) + 1;
  }
  const envelope: ServerLogEnvelope = {
    v: 1,
    app: task.app,
    receivedAt: task.receivedAt,
    logs: parsed.lines,
  };
  return {
    ok: true,
    ids: parsed.lines.map((l) => l.id),
    fixes,
    payload: Buffer.from(JSON.stringify(envelope), 'utf8'),
  };
}

/** POST /otlp/v1/logs: budget → JSON or protobuf → log lines → the envelope bytes (none when all were dropped). */
export function decodeOtlp(task: OtlpTask): OtlpDecoded | DecodeFailure {
  const decoded = decodeOtlpRequest(
    Buffer.from(task.raw.buffer, task.raw.byteOffset, task.raw.byteLength),
    task.format,
    task.maxValues,
  );
  if (!decoded.ok) return decoded;
  const mapped = mapOtlpLogs(decoded.value, task.receivedAt);
  if (!mapped.ok) return { ...mapped, code: 'TELLTALE_ERR_INVALID_LOGS' };
  const { lines, rejected, errorMessage } = mapped.value;
  const fixes: Fixes = {};
  for (const line of lines) {
    const fix = normalizeLogTime(line, task.receivedAt);
    if (fix !== undefined) fixes[fix] = (fixes[fix] ?? 0) + 1;
  }
  const envelope: ServerLogEnvelope = { v: 1, app: task.app, receivedAt: task.receivedAt, logs: lines };
  const payload = lines.length > 0 ? Buffer.from(JSON.stringify(envelope), 'utf8') : undefined;
  return { ok: true, lines: lines.length, rejected, errorMessage, fixes, payload };
}

export function decodeIngest(task: IngestTask): IngestDecoded | DecodeFailure {
  return task.kind === 'batch'
    ? decodeBatch(task)
    : task.kind === 'logs'
      ? decodeLogs(task)
      : decodeOtlp(task);
}
