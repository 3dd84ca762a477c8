import { createHash } from 'node:crypto';
import { LIMITS, validateServerLog, type ServerLogEnvelope } from '@telltale/protocol';
import { decodeEnvelopeHeader } from '../../decode.js';
import { scrubAttributes, scrubText } from '../../enrich/scrub.js';
import type { ServerLogRow } from '../../sinks/types.js';

export type ServerLogDecodeResult =
  | { ok: true; envelope: ServerLogEnvelope }
  | { ok: false; code: 'invalid_json' | 'invalid_envelope' | 'invalid_logs'; reason: string };

// TIMESTAMP / DateTime hold years 1..9999; a broken server clock falls back to the collector time.
const MAX_TIMESTAMP_MS = 253_402_300_799_999;

const isId = (v: unknown): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= LIMITS.maxIdLength;

/** Where and why one log line does not fit protocol v1 (`/trace: …`), or undefined when it does. */
function lineProblem(line: unknown): string | undefined {
  const checked = validateServerLog(line);
  if (!checked.ok) return `${checked.path}: ${checked.message}`;
  // Optional on the wire; the collector fills it in before the spool, and the stores dedupe on it.
  if (checked.value.id === undefined) return '/id: must be a non-empty string';
  return undefined;
}

/**
 * Server-log spool payload → envelope. The collector validated each line already; this check (the
 * same compiled schema) keeps out a record written by anything else (a Blob intake, a Kafka producer).
 */
export function decodeServerLogEnvelope(payload: Buffer | Record<string, unknown>): ServerLogDecodeResult {
  const header = decodeEnvelopeHeader(payload);
  if (!header.ok) return header;
  const { parsed } = header;
  if (!isId(parsed.app)) return { ok: false, code: 'invalid_envelope', reason: 'envelope has no app' };
  if (!Array.isArray(parsed.logs) || parsed.logs.length === 0)
    return { ok: false, code: 'invalid_logs', reason: 'envelope has no logs array' };
  for (const [index, line] of parsed.logs.entries()) {
    const problem = lineProblem(line);
    if (problem !== undefined) return { ok: false, code: 'invalid_logs', reason: `logs/${index}${problem}` };
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
