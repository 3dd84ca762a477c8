import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import {
  AssertEventSchema,
  BatchSchema,
  BlockedEventSchema,
  ErrorEventSchema,
  EVENT_KINDS,
  FeatureEventSchema,
  LogEventSchema,
  type Batch,
  type EventKind,
} from './schema.js';

const batchChecker = TypeCompiler.Compile(BatchSchema);
const eventCheckers: Record<EventKind, TypeCheck<TSchema>> = {
  error: TypeCompiler.Compile(ErrorEventSchema),
  assert: TypeCompiler.Compile(AssertEventSchema),
  feature: TypeCompiler.Compile(FeatureEventSchema),
  blocked: TypeCompiler.Compile(BlockedEventSchema),
  log: TypeCompiler.Compile(LogEventSchema),
};
const EVENT_PATH = /^\/events\/(\d+)$/;

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; path: string; message: string };

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
  const eventIndex = EVENT_PATH.exec(path)?.[1];
  // The events union only says "no variant matched": check the event against its own kind instead.
  if (eventIndex !== undefined)
    return explainEvent(path, (input as { events: unknown[] }).events[Number(eventIndex)]);
  return { ok: false, path, message: first?.message ?? 'does not match protocol v1' };
}

function explainEvent(path: string, event: unknown): { ok: false; path: string; message: string } {
  const kind = typeof event === 'object' && event !== null ? (event as { kind?: unknown }).kind : undefined;
  if (typeof kind !== 'string' || !EVENT_KINDS.includes(kind as EventKind)) {
    return { ok: false, path: `${path}/kind`, message: `must be one of ${EVENT_KINDS.join(', ')}` };
  }
  const error = eventCheckers[kind as EventKind].Errors(event).First();
  return {
    ok: false,
    path: `${path}${error?.path ?? ''}`,
    message: error?.message ?? `is not a valid ${kind} event`,
  };
}
