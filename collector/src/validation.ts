import { validateBatch, type Batch } from '@telltale/protocol';

export type BatchCheck = { ok: true; batch: Batch } | { ok: false; field: string; message: string };

/** validateBatch in the collector's terms: the offending field and a message that names it. */
export function checkBatch(value: unknown): BatchCheck {
  const result = validateBatch(value);
  if (result.ok) return { ok: true, batch: result.value };
  return { ok: false, field: result.path, message: `${result.path}: ${result.message}` };
}
