import { createHash } from 'node:crypto';
import { LIMITS, type ServerLogEnvelope } from '@telltale/protocol';
import { decodeEnvelopeHeader, isRecord } from '../../decode.js';
import { scrubAttributes, scrubText } from '../../enrich/scrub.js';
import type { ServerLogRow } from '../../sinks/types.js';

export type ServerLogDecodeResult =
  | { ok: true; envelope: ServerLogEnvelope }
  | { ok: false; code: 'invalid_json' | 'invalid_envelope' | 'invalid_logs'; reason: string };

const LEVELS = new Set(['debug', 'info', 'warn', 'error', 'fatal']);
const TRACE = /^[0-9a-f]{32}$/;
const SPAN = /^[0-9a-f]{16}$/;
// TIMESTAMP / DateTime hold years 1..9999; a broken server clock falls back to the collector time.
const MAX_TIMESTAMP_MS = 253_402_300_799_999;

const isId = (v: unknown): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= LIMITS.maxIdLength;
const optId = (v: unknown): boolean => v === undefined || isId(v);

/** Why one log line does not fit protocol v1, or undefined when it does. */
function lineProblem(line: unknown): string | undefined {
  if (!isRecord(line)) return 'is not an object';
  if (!isId(line.id)) return 'id must be a non-empty string';
  if (typeof line.ts !== 'number' || !Number.isFinite(line.ts) || line.ts < 0) return 'ts must be epoch ms';
  if (typeof line.level !== 'string' || !LEVELS.has(line.level))
    return 'level must be debug|info|warn|error|fatal';
  if (typeof line.message !== 'string' || line.message.length > LIMITS.maxStringLength)
    return 'message must be a string';
  if (!isId(line.service)) return 'service must be a non-empty string';
  if (line.trace !== undefined && (typeof line.trace !== 'string' || !TRACE.test(line.trace)))
    return 'trace must be 32 hex digits';
  if (line.span !== undefined && (typeof line.span !== 'string' || !SPAN.test(line.span)))
    return 'span must be 16 hex digits';
  for (const key of ['session', 'user', 'account', 'release', 'environment'] as const)
    if (!optId(line[key])) return `${key} must be a non-empty string`;
  if (line.attrs !== undefined) {
    if (!isRecord(line.attrs)) return 'attrs must be an object';
    for (const value of Object.values(line.attrs))
      if (value !== null && !['string', 'number', 'boolean'].includes(typeof value))
        return 'attrs values must be scalars';
  }
  return undefined;
}

/** Server-log spool payload → envelope; the collector validated it already, this keeps a hand-written record out. */
export function decodeServerLogEnvelope(payload: Buffer | Record<string, unknown>): ServerLogDecodeResult {
  const header = decodeEnvelopeHeader(payload);
  if (!header.ok) return header;
  const { parsed } = header;
  if (!isId(parsed.app)) return { ok: false, code: 'invalid_envelope', reason: 'envelope has no app' };
  if (!Array.isArray(parsed.logs) || parsed.logs.length === 0)
    return { ok: false, code: 'invalid_logs', reason: 'envelope has no logs array' };
  for (const [index, line] of parsed.logs.entries()) {
    const problem = lineProblem(line);
    if (problem !== undefined)
      return { ok: false, code: 'invalid_logs', reason: `logs/${index}: ${problem}` };
  }
  return { ok: true, envelope: parsed as unknown as ServerLogEnvelope };
}

/** One server-log envelope → one scrubbed row per line. */
export function serverLogRows(envelope: ServerLogEnvelope): ServerLogRow[] {
  return envelope.logs.map((line) => ({
    app: envelope.app,
    id: line.id,
    ts: line.ts <= MAX_TIMESTAMP_MS ? Math.round(line.ts) : envelope.receivedAt,
    receivedAt: envelope.receivedAt,
    service: line.service,
    level: line.level,
    message: scrubText(line.message),
    trace: line.trace ?? null,
    span: line.span ?? null,
    session: line.session ?? null,
    userId: line.user ?? null,
    accountId: line.account ?? null,
    release: line.release ?? null,
    environment: line.environment ?? null,
    attrs: line.attrs === undefined ? null : JSON.stringify(scrubAttributes(line.attrs)),
  }));
}

/** Server-log envelopes have no batch id: one derived from their log ids names them in the Blob archive. */
export function serverLogBatchId(envelope: ServerLogEnvelope): string {
  const hash = createHash('sha256');
  for (const line of envelope.logs) hash.update(line.id).update('\u0000');
  return `server-${hash.digest('hex').slice(0, 32)}`;
}
