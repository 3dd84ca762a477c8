import { EVENT_KINDS, validateBatch, type Batch } from '@telltale/protocol';

export type BatchCheck = { ok: true; batch: Batch } | { ok: false; field: string; message: string };

const EVENT_PATH = /^\/events\/(\d+)$/;

/**
 * validateBatch, with a sharper field for the commonest mistake: an event whose `kind` is unknown
 * is reported by the schema's union as `/events/N`; we name `/events/N/kind` instead.
 */
export function checkBatch(value: unknown): BatchCheck {
  const result = validateBatch(value);
  if (result.ok) return { ok: true, batch: result.value };
  const eventIndex = EVENT_PATH.exec(result.path)?.[1];
  if (eventIndex !== undefined) {
    const event = (value as { events: unknown[] }).events[Number(eventIndex)];
    const kind = typeof event === 'object' && event !== null ? (event as { kind?: unknown }).kind : undefined;
    if (!EVENT_KINDS.includes(kind as never)) {
      return {
        ok: false,
        field: `${result.path}/kind`,
        message: `${result.path}/kind: must be one of ${EVENT_KINDS.join(', ')}`,
      };
    }
    return {
      ok: false,
      field: result.path,
      message: `${result.path}: does not match the "${String(kind)}" event of protocol v1`,
    };
  }
  return { ok: false, field: result.path, message: `${result.path}: ${result.message}` };
}
