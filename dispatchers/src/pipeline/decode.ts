import { validateBatch, type Batch, type SpoolEnvelope } from '@telltale/protocol';

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

const EVENT_KINDS = new Set(['error', 'assert', 'feature', 'blocked', 'log']);
const str = (v: unknown): boolean => typeof v === 'string';
const optStr = (v: unknown): boolean => v === undefined || typeof v === 'string';
const optNum = (v: unknown): boolean => v === undefined || typeof v === 'number';
const optBool = (v: unknown): boolean => v === undefined || typeof v === 'boolean';
const optObj = (v: unknown): boolean => v === undefined || isRecord(v);

/** The fields enrichment reads, with the types it expects: what a record must have to be stored. */
function eventHasShape(e: unknown): boolean {
  if (!isRecord(e) || !str(e.id) || e.id === '' || typeof e.ts !== 'number' || !str(e.kind)) return false;
  if (!EVENT_KINDS.has(e.kind as string) || !optStr(e.url) || !optStr(e.trace) || !optBool(e.online))
    return false;
  if (e.breadcrumbs !== undefined) {
    if (!Array.isArray(e.breadcrumbs)) return false;
    for (const crumb of e.breadcrumbs as unknown[])
      if (!isRecord(crumb) || !str(crumb.message) || !optStr(crumb.category)) return false;
  }
  switch (e.kind) {
    case 'error':
      return str(e.type) && str(e.message) && optStr(e.stack) && optStr(e.fingerprint) && optNum(e.count);
    case 'assert':
      return str(e.name) && typeof e.soft === 'boolean' && optObj(e.vars);
    case 'feature':
      return str(e.name) && optObj(e.props);
    case 'blocked':
      return str(e.reason) && optObj(e.props);
    default:
      return str(e.message) && str(e.level);
  }
}

/**
 * A cheap shape check of a batch the collector already validated (protocol v1, unknown fields
 * stripped) and the spool CRC-checked: the fields enrichment reads, with their types.
 */
export function batchHasShape(batch: unknown): batch is Batch {
  if (!isRecord(batch) || batch.v !== 1 || !str(batch.batchId) || batch.batchId === '') return false;
  if (!str(batch.release) || !str(batch.environment) || !str(batch.session)) return false;
  if (!optStr(batch.user) || !optStr(batch.account) || !optNum(batch.loadMs) || !optBool(batch.adblock))
    return false;
  const { events } = batch;
  if (!Array.isArray(events) || events.length === 0) return false;
  for (const event of events as unknown[]) if (!eventHasShape(event)) return false;
  return true;
}

/**
 * Spool payload → envelope. `trusted`: the collector validated the batch (limits, unknown fields
 * dropped) and the spool's CRC guards the bytes, so a shape check suffices (full validation was a
 * third of the dispatchers' CPU); a record that fails it (corrupted, hand-written) gets the full
 * validation, for the exact reason it is dead-lettered. Untrusted (the Blob intake spool: blobs
 * anyone with the container may have written): full validation always.
 */
export function decodeEnvelope(payload: Buffer, options: { trusted?: boolean } = {}): DecodeResult {
  const header = decodeEnvelopeHeader(payload);
  if (!header.ok) return header;
  const { parsed } = header;
  if (parsed.userAgent !== undefined && typeof parsed.userAgent !== 'string') {
    return { ok: false, code: 'invalid_envelope', reason: 'envelope userAgent is not a string' };
  }
  let value: Batch;
  if (options.trusted === true && batchHasShape(parsed.batch)) value = parsed.batch;
  else {
    const batch = validateBatch(parsed.batch);
    if (!batch.ok)
      return { ok: false, code: 'invalid_batch', reason: `batch${batch.path}: ${batch.message}` };
    value = batch.value;
  }
  const envelope: SpoolEnvelope = {
    v: 1,
    app: parsed.app,
    receivedAt: parsed.receivedAt,
    batch: value,
  };
  if (typeof parsed.userAgent === 'string') envelope.userAgent = parsed.userAgent;
  return { ok: true, envelope };
}
