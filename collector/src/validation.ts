import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { BatchSchema, LIMITS, validateBatch, type Batch, type ErrorCode } from '@telltale/protocol';
import { checkJsonShape, FORBIDDEN_KEYS } from './json-guard.js';

export type BatchCheck =
  | {
      ok: true;
      batch: Batch;
      /** True when the batch is exactly protocol v1, with no unknown field: the text as sent can be stored. */
      exact: boolean;
    }
  | { ok: false; code: ErrorCode; field: string; message: string; reason: string };

/** A copy of a schema where every object with fixed properties refuses any other property. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (typeof schema !== 'object' || schema === null) return schema;
  // Object.assign keeps TypeBox's symbol keys ([Kind]) that the compiler needs.
  const copy = Object.assign({}, schema) as Record<string, unknown>;
  for (const key of Object.keys(copy)) copy[key] = closed(copy[key]);
  if (typeof copy.properties === 'object' && copy.properties !== null) copy.additionalProperties = false;
  return copy;
}

// Exactly v1 and nothing else: the compiled check alone proves it, with no per-field clean-up to pay.
const exactChecker = TypeCompiler.Compile(closed(BatchSchema) as TSchema);
// v1 plus fields it does not know (a newer SDK): still one compiled check, then the extras are dropped.
const openChecker = TypeCompiler.Compile(BatchSchema);

interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  const?: unknown;
}

/**
 * Drops the properties a schema does not name, in place, following the batch schema's shapes
 * (objects, arrays, the union of event kinds picked by `kind`); attribute maps are left whole.
 * For a value that passed the schema check it does what TypeBox's Value.Clean does, at a fraction
 * of the cost (Value.Clean re-checks every union member at run time).
 */
export function dropUnknownFields(schema: SchemaNode, value: unknown): void {
  if (typeof value !== 'object' || value === null) return;
  if (schema.anyOf) {
    const kind = (value as { kind?: unknown }).kind;
    const variant = schema.anyOf.find((s) => s.properties?.kind?.const === kind);
    if (variant) dropUnknownFields(variant, value);
    return;
  }
  if (Array.isArray(value)) {
    if (schema.items) for (const item of value) dropUnknownFields(schema.items, item);
    return;
  }
  const properties = schema.properties;
  if (properties === undefined) return; // a Record (vars, props): any key, scalar values
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const child = properties[key];
    if (child === undefined) delete record[key];
    else dropUnknownFields(child, record[key]);
  }
}

/** `vars` / `props` may use any key name, so prototype keys are looked for there by hand. */
function forbiddenAttributeKey(batch: Batch): string | undefined {
  for (let i = 0; i < batch.events.length; i++) {
    const event = batch.events[i]!;
    const map = 'vars' in event ? event.vars : 'props' in event ? event.props : undefined;
    if (map === undefined) continue;
    for (const key of Object.keys(map))
      if (FORBIDDEN_KEYS.has(key)) return `/events/${i}/${'vars' in event ? 'vars' : 'props'}/${key}`;
  }
  return undefined;
}

/**
 * validateBatch in the collector's terms: the offending field and a message that names it. A batch
 * from an SDK of this protocol version passes one compiled check (`exact`); one with fields v1 does
 * not know is walked for hostile shapes, checked, and stripped of them; anything refused goes
 * through the protocol's validator, which names the first offending field.
 */
export function checkBatch(value: unknown): BatchCheck {
  if (exactChecker.Check(value)) {
    const batch = value as Batch;
    const field = forbiddenAttributeKey(batch);
    if (field !== undefined)
      return {
        ok: false,
        code: 'TELLTALE_ERR_INVALID_JSON',
        field,
        message: `${field}: the key is not allowed (__proto__, constructor and prototype never are)`,
        reason: 'forbidden_key',
      };
    return { ok: true, batch, exact: true };
  }
  // Anything unusual is walked first: depth, string sizes and prototype keys, unknown fields included.
  const problem = checkJsonShape(value);
  if (problem !== undefined)
    return {
      ok: false,
      code: problem.reason === 'forbidden_key' ? 'TELLTALE_ERR_INVALID_JSON' : 'TELLTALE_ERR_INVALID_BATCH',
      ...problem,
    };
  if (openChecker.Check(value)) {
    // The walk above already refused prototype keys, attribute maps included.
    dropUnknownFields(BatchSchema as unknown as SchemaNode, value);
    return { ok: true, batch: value as Batch, exact: false };
  }
  // Refused: the protocol's validator names the first offending field.
  const result = validateBatch(value);
  if (result.ok) return { ok: true, batch: result.value, exact: false };
  const events = (value as { events?: unknown } | null)?.events;
  const reason =
    Array.isArray(events) && events.length > LIMITS.maxEventsPerBatch ? 'too_many_events' : 'schema';
  return {
    ok: false,
    code: 'TELLTALE_ERR_INVALID_BATCH',
    field: result.path,
    message: `${result.path}: ${result.message}`,
    reason,
  };
}
