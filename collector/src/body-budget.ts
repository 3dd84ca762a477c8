import protobuf from 'protobufjs/light.js';
import type { DecodeFailure } from './decode.js';

/**
 * Structural budgets checked before any parser runs. JSON.parse, protobuf decoding and the
 * schema checks after them cost time and memory per value, not per byte: `[{},{},…]` in 10 KiB
 * of gzip is millions of objects. These scans are one forward pass over the inflated bytes,
 * allocate nothing per value, and stop as soon as the cap is passed.
 */

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;

/**
 * An upper bound on the number of values JSON.parse would make of `bytes[start, end)`: every
 * value but the first follows a `[`, `{` or `,` outside a string, so their count plus one bounds
 * it (an object member's key is not counted; its value is). Strings are skipped, escapes
 * included, so commas in messages and stacks cost nothing. Invalid JSON is counted all the same
 * (the parser refuses it later); the count is exact enough to compare with a cap.
 * Returns the count, or `cap + 1` as soon as it passes `cap`.
 */
export function countJsonValues(bytes: Uint8Array, cap: number, start = 0, end = bytes.length): number {
  let count = 1;
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    if (b === QUOTE) {
      // Jump to the closing quote (native indexOf): one not preceded by an odd run of backslashes.
      let j = i + 1;
      for (;;) {
        j = bytes.indexOf(QUOTE, j);
        if (j === -1 || j >= end) return count; // unterminated: the rest is one string
        let slashes = 0;
        for (let k = j - 1; k > i && bytes[k] === BACKSLASH; k--) slashes++;
        if (slashes % 2 === 0) break;
        j++;
      }
      i = j;
    } else if (b === OPEN_BRACE || b === OPEN_BRACKET || b === COMMA) {
      if (++count > cap) return cap + 1;
    }
  }
  return count;
}

/** countJsonValues over a string's UTF-16 units (a source map sent as a JSON string inside JSON). */
export function countJsonValuesInString(text: string, cap: number): number {
  let count = 1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET || c === COMMA) {
      if (++count > cap) return cap + 1;
    }
  }
  return count;
}

/** Newline bytes in `bytes`, or `cap + 1` once past `cap` (blank NDJSON lines are lines too). */
export function countLines(bytes: Uint8Array, cap: number): number {
  let lines = 1;
  for (let at = bytes.indexOf(NEWLINE); at !== -1; at = bytes.indexOf(NEWLINE, at + 1))
    if (++lines > cap) return cap + 1;
  return lines;
}

/** The 413 answer for a body past a structural budget; `reason` labels the rejection counter. */
export const tooComplex = (reason: string, message: string, limit: number): DecodeFailure => ({
  ok: false,
  code: 'TELLTALE_ERR_BODY_TOO_COMPLEX',
  reason,
  message,
  limit,
});

/** The JSON-values budget of one body, or the refusal naming it. */
export function checkJsonBudget(bytes: Uint8Array, cap: number): DecodeFailure | undefined {
  // Each counted value is one byte of the body: a body no longer than the cap cannot pass it.
  if (bytes.byteLength <= cap || countJsonValues(bytes, cap) <= cap) return undefined;
  return tooComplex(
    'too_many_values',
    `the body holds more than ${cap} JSON values (arrays, objects and their members); send smaller batches`,
    cap,
  );
}

/** The JSON-values and line budgets of an NDJSON (or JSON array) body. */
export function checkLinesBudget(
  bytes: Uint8Array,
  maxValues: number,
  maxLines: number,
): DecodeFailure | undefined {
  // Lines are newline bytes + 1: a body shorter than the cap cannot pass it.
  if (bytes.byteLength >= maxLines && countLines(bytes, maxLines) > maxLines)
    return tooComplex(
      'too_many_lines',
      `the body has more than ${maxLines} lines (blank ones included); send them in several requests`,
      maxLines,
    );
  return checkJsonBudget(bytes, maxValues);
}

const WIRE_BYTES = 2;
/** protobufjs's own recursion limit. */
const MAX_PROTO_DEPTH = 100;

class Over extends Error {}

/**
 * Fields a protobuf decode of `type` would make of `bytes`, walked with a protobufjs Reader
 * without building any object: each field counts one, message-typed fields are walked into.
 * Throws Over past `cap`, and protobufjs's RangeError (or Error) on malformed bytes.
 */
function walk(
  reader: protobuf.Reader,
  end: number,
  type: protobuf.Type,
  budget: { left: number },
  depth: number,
) {
  if (depth > MAX_PROTO_DEPTH) throw new Error('max depth exceeded');
  while (reader.pos < end) {
    const tag = reader.uint32();
    const id = tag >>> 3;
    const wire = tag & 7;
    if (--budget.left < 0) throw new Over();
    const field = type.fieldsById[id];
    const sub = field?.resolvedType;
    if (wire === WIRE_BYTES && sub instanceof protobuf.Type) {
      const length = reader.uint32();
      const stop = reader.pos + length;
      if (stop > end) throw new RangeError('index out of range');
      walk(reader, stop, sub, budget, depth + 1);
      reader.pos = stop;
    } else if (wire === WIRE_BYTES && field?.repeated && field.type !== 'string' && field.type !== 'bytes') {
      // A packed repeated scalar: each element is a value, about one per byte at most.
      const length = reader.uint32();
      budget.left -= length;
      if (budget.left < 0) throw new Over();
      reader.skip(length);
    } else reader.skipType(wire); // scalars, strings, bytes, unknown fields; a bad wire type throws
  }
  if (reader.pos !== end) throw new RangeError('index out of range');
}

/**
 * 'over' when decoding `bytes` as `type` would make more than `cap` fields, 'bad' when the bytes
 * are not that message, 'ok' otherwise. Linear in the bytes: every byte is read once.
 */
export function checkProtoBudget(type: protobuf.Type, bytes: Uint8Array, cap: number): 'ok' | 'over' | 'bad' {
  const reader = protobuf.Reader.create(bytes);
  try {
    walk(reader, bytes.length, type, { left: cap }, 0);
    return 'ok';
  } catch (error) {
    return error instanceof Over ? 'over' : 'bad';
  }
}
