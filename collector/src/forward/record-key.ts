import { kafkaRecordKey } from '@telltale/protocol';

/**
 * The partition key of a spool record, so one app's session (client) or one service's stream
 * (server logs) stays on one partition and is consumed in order. The envelope was validated when
 * it was spooled; a record that does not parse (never expected) goes without a key rather than
 * being held back: ordering is a convenience, delivery is the promise.
 */
export function clientRecordKey(payload: Buffer): string | undefined {
  const envelope = parse(payload) as { app?: unknown; batch?: { session?: unknown } } | undefined;
  if (typeof envelope?.app !== 'string') return undefined;
  const session = envelope.batch?.session;
  return kafkaRecordKey(envelope.app, typeof session === 'string' ? session : undefined);
}

/** Server logs: the first line's service, else its request's trace id (one envelope is one request of one service). */
export function serverRecordKey(payload: Buffer): string | undefined {
  const envelope = parse(payload) as
    { app?: unknown; logs?: Array<{ service?: unknown; trace?: unknown }> } | undefined;
  if (typeof envelope?.app !== 'string') return undefined;
  const first = Array.isArray(envelope.logs) ? envelope.logs[0] : undefined;
  const stream =
    typeof first?.service === 'string'
      ? first.service
      : typeof first?.trace === 'string'
        ? first.trace
        : undefined;
  return kafkaRecordKey(envelope.app, stream);
}

function parse(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
