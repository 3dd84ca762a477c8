import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { BatchSchema, type Batch } from './schema.js';

const batchChecker = TypeCompiler.Compile(BatchSchema);

export type ValidationResult<T> =
  | { ok: true; value: T }
  | { ok: false; path: string; message: string };

/**
 * Checks a parsed JSON value against protocol v1. Unknown properties are removed (forward
 * compatibility with newer SDKs); anything else that does not fit is refused, naming the field.
 */
export function validateBatch(input: unknown): ValidationResult<Batch> {
  if (batchChecker.Check(input)) {
    return { ok: true, value: Value.Clean(BatchSchema, input) as Batch };
  }
  const first = batchChecker.Errors(input).First();
  const path = first?.path === undefined || first.path === '' ? '/' : first.path;
  return { ok: false, path, message: first?.message ?? 'does not match protocol v1' };
}
