import { validateBatch, type SpoolEnvelope } from '@telltale/protocol';

/** Why a record could not be used; also the metric label of dead-lettered records. */
export type DecodeFailure = 'invalid_json' | 'invalid_envelope' | 'invalid_batch';

export type DecodeResult =
  { ok: true; envelope: SpoolEnvelope } | { ok: false; code: DecodeFailure; reason: string };

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type HeaderResult =
  | { ok: true; parsed: Record<string, unknown> & { app: string; receivedAt: number } }
  | { ok: false; code: 'invalid_json' | 'invalid_envelope'; reason: string };

/** The checks every spool envelope shares (client batches, server logs): JSON, version 1, app, receive time. */
export function decodeEnvelopeHeader(payload: Buffer | Record<string, unknown>): HeaderResult {
  let parsed: unknown = payload;
  if (Buffer.isBuffer(payload)) {
    try {
      parsed = JSON.parse(payload.toString('utf8'));
    } catch (error) {
      return { ok: false, code: 'invalid_json', reason: `payload is not JSON: ${(error as Error).message}` };
    }
  }
  if (!isRecord(parsed))
    return { ok: false, code: 'invalid_envelope', reason: 'payload is not a JSON object' };
  if (parsed.v !== 1)
    return {
      ok: false,
      code: 'invalid_envelope',
      reason: `unsupported envelope version ${JSON.stringify(parsed.v)}`,
    };
  if (typeof parsed.app !== 'string' || parsed.app === '')
    return { ok: false, code: 'invalid_envelope', reason: 'envelope has no app' };
  if (typeof parsed.receivedAt !== 'number' || !Number.isFinite(parsed.receivedAt) || parsed.receivedAt < 0) {
    return { ok: false, code: 'invalid_envelope', reason: 'envelope has no valid receivedAt' };
  }
  return { ok: true, parsed: parsed as Record<string, unknown> & { app: string; receivedAt: number } };
}

/**
 * Spool payload → envelope. The collector validated the batch already; checking again costs little
 * and keeps a corrupted or hand-written record from reaching the sinks.
 */
export function decodeEnvelope(payload: Buffer): DecodeResult {
  const header = decodeEnvelopeHeader(payload);
  if (!header.ok) return header;
  const { parsed } = header;
  if (parsed.userAgent !== undefined && typeof parsed.userAgent !== 'string') {
    return { ok: false, code: 'invalid_envelope', reason: 'envelope userAgent is not a string' };
  }
  const batch = validateBatch(parsed.batch);
  if (!batch.ok) return { ok: false, code: 'invalid_batch', reason: `batch${batch.path}: ${batch.message}` };
  const envelope: SpoolEnvelope = {
    v: 1,
    app: parsed.app,
    receivedAt: parsed.receivedAt,
    batch: batch.value,
  };
  if (typeof parsed.userAgent === 'string') envelope.userAgent = parsed.userAgent;
  return { ok: true, envelope };
}
