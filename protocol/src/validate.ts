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
  ServerLogSchema,
  type Batch,
  type EventKind,
  type ServerLog,
} from './schema.js';

const batchChecker = TypeCompiler.Compile(BatchSchema);
const eventCheckers: Record<EventKind, TypeCheck<TSchema>> = {
  error: TypeCompiler.Compile(ErrorEventSchema),
  assert: TypeCompiler.Compile(AssertEventSchema),
  feature: TypeCompiler.Compile(FeatureEventSchema),
  blocked: TypeCompiler.Compile(BlockedEventSchema),
  log: TypeCompiler.Compile(LogEventSchema),
};
const serverLogChecker = TypeCompiler.Compile(ServerLogSchema);
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

/**
 * Checks one server log line against protocol v1, compiled once for every reader (the collector's
 * `/v1/logs` and OTLP routes, the dispatchers' server-log decoder). Unknown properties are removed;
 * a line that does not fit is refused with the first problem, `path` from the line itself
 * (`/trace`, or '' for the line as a whole).
 */
export function validateServerLog(input: unknown): ValidationResult<ServerLog> {
  if (serverLogChecker.Check(input))
    return { ok: true, value: Value.Clean(ServerLogSchema, input) as ServerLog };
  const first = serverLogChecker.Errors(input).First();
  return { ok: false, path: first?.path ?? '', message: first?.message ?? 'is not a server log line' };
}
