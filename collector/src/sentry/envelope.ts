/**
 * Sentry's envelope format (https://develop.sentry.dev/sdk/envelopes/), parsed in one forward pass:
 *
 *   {envelope header JSON}\n
 *   {item header JSON}\n<payload: `length` bytes, or up to the next \n>\n   (repeated)
 *
 * Every scan moves forward and every header line is capped before JSON.parse sees it, so the cost
 * is linear in the body whatever a sender puts in it. The values of every header line and of every
 * parsed (event, log) payload are counted against one budget before JSON.parse sees them.
 */
import { countJsonValues } from '../body-budget.js';

/** Most items in one envelope (SDKs send 1-3; Relay's own cap is in the same range). */
export const MAX_ENVELOPE_ITEMS = 1000;
/** Longest envelope or item header line, in bytes (a DSN, SDK info and trace context fit in 2 KB). */
export const MAX_HEADER_LINE_BYTES = 16 * 1024;
/** Largest `event` or `log` item, in bytes: Relay's max_event_size. */
export const MAX_EVENT_ITEM_BYTES = 1024 * 1024;
/** Largest envelope, compressed or not, in bytes: Relay's max_envelope_size for one request here. */
export const MAX_ENVELOPE_BYTES = 20 * 1024 * 1024;
/**
 * Largest envelope with no key in the URL or headers (a first-party tunnel: the DSN is only in the
 * envelope), as sent and once inflated: it is read before any key is checked, so it is kept small.
 * A browser SDK's error envelope is a few KB to a few hundred KB; one event item may be 1 MiB.
 */
export const MAX_TUNNEL_BYTES = 1024 * 1024;
export const MAX_TUNNEL_DECOMPRESSED_BYTES = 2 * 1024 * 1024;
/** The item types Sentry documents; any other name is counted as `other` (metric labels stay bounded). */
export const KNOWN_ITEM_TYPES = new Set([
  'event',
  'transaction',
  'attachment',
  'session',
  'sessions',
  'client_report',
  'replay_event',
  'replay_recording',
  'replay_video',
  'profile',
  'profile_chunk',
  'check_in',
  'feedback',
  'user_report',
  'log',
  'span',
  'statsd',
  'metric_meta',
  'security',
  'raw_security',
  'nel',
  'unreal_report',
  'form_data',
]);
const MAX_TYPE_LENGTH = 32;
const NEWLINE = 0x0a;

/** The item types whose payload is parsed; every other type is counted and dropped. */
export const PARSED_ITEM_TYPES = new Set(['event', 'log']);

export interface EnvelopeItem {
  /** The item's `type`, lowercased; `other` when Sentry documents no such type. */
  type: string;
  payload: Buffer;
}

export interface EnvelopeHeader {
  event_id?: unknown;
  dsn?: unknown;
  sent_at?: unknown;
  sdk?: unknown;
  [key: string]: unknown;
}

export type EnvelopeFailure = {
  ok: false;
  reason: string;
  message: string;
  /** 413 (an item over its size limit) rather than 400. */
  tooLarge?: true;
  /** 413 for a body past the values budget (TELLTALE_ERR_BODY_TOO_COMPLEX). */
  tooComplex?: true;
  limit?: number;
};

export type EnvelopeParse = { ok: true; header: EnvelopeHeader; items: EnvelopeItem[] } | EnvelopeFailure;

const fail = (reason: string, message: string, limit?: number): EnvelopeFailure => ({
  ok: false,
  reason,
  message,
  ...(limit !== undefined ? { limit } : {}),
});

/** JSON values left to parse in one envelope (header lines and parsed payloads together). */
export interface ValueBudget {
  left: number;
  readonly cap: number;
}

const overBudget = (budget: ValueBudget): EnvelopeFailure => ({
  ...fail(
    'too_many_values',
    `the envelope holds more than ${budget.cap} JSON values in its headers and event or log items`,
    budget.cap,
  ),
  tooComplex: true,
});

/** Takes the values of `body[start, end)` from the budget; false once it is spent. */
function spend(budget: ValueBudget, body: Buffer, start: number, end: number): boolean {
  budget.left -= countJsonValues(body, budget.left, start, end);
  return budget.left >= 0;
}

/** One header line from `start`: the JSON object and where the next line starts, or why not. */
function headerLine(
  body: Buffer,
  start: number,
  what: string,
  budget: ValueBudget,
): { ok: true; value: Record<string, unknown>; next: number } | EnvelopeFailure {
  // Look for the newline only within the cap: a 20 MB line costs 16 KB to refuse.
  const window = body.subarray(start, Math.min(body.length, start + MAX_HEADER_LINE_BYTES + 1));
  const at = window.indexOf(NEWLINE);
  const end = at === -1 ? window.length : at;
  if (at === -1 && window.length > MAX_HEADER_LINE_BYTES)
    return fail(
      'header_too_long',
      `${what} is longer than ${MAX_HEADER_LINE_BYTES} bytes`,
      MAX_HEADER_LINE_BYTES,
    );
  if (!spend(budget, body, start, start + end)) return overBudget(budget);
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8', start, start + end));
  } catch {
    return fail('bad_header', `${what} is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return fail('bad_header', `${what} must be a JSON object`);
  return {
    ok: true,
    value: value as Record<string, unknown>,
    next: at === -1 ? body.length : start + at + 1,
  };
}

const itemType = (value: unknown): string | undefined => {
  if (typeof value !== 'string' || value === '') return undefined;
  const type = value.length > MAX_TYPE_LENGTH ? 'other' : value.toLowerCase();
  return KNOWN_ITEM_TYPES.has(type) ? type : 'other';
};

export type EnvelopeHead = { ok: true; header: EnvelopeHeader; next: number } | EnvelopeFailure;

/** The envelope header line alone (its `dsn` authenticates a tunnel before any item is read). */
export function parseEnvelopeHeader(body: Buffer, budget: ValueBudget): EnvelopeHead {
  if (body.length === 0) return fail('empty_body', 'the envelope is empty');
  const head = headerLine(body, 0, 'the envelope header', budget);
  return head.ok ? { ok: true, header: head.value, next: head.next } : head;
}

/** Parses an envelope; a wrong `length`, a missing newline or a bad header line is a failure. */
export function parseEnvelope(body: Buffer, maxValues = Number.MAX_SAFE_INTEGER): EnvelopeParse {
  const budget: ValueBudget = { left: maxValues, cap: maxValues };
  const head = parseEnvelopeHeader(body, budget);
  return head.ok ? parseEnvelopeItems(body, head, budget) : head;
}

/**
 * The items after a parsed envelope header; the payloads of `event` and `log` items are counted
 * against the same budget (they are parsed next), other payloads are never parsed.
 */
export function parseEnvelopeItems(
  body: Buffer,
  head: { header: EnvelopeHeader; next: number },
  budget: ValueBudget,
): EnvelopeParse {
  const items: EnvelopeItem[] = [];
  let pos = head.next;
  while (pos < body.length) {
    if (body[pos] === NEWLINE) {
      pos += 1; // a blank line between items (or at the end) carries nothing
      continue;
    }
    if (items.length === MAX_ENVELOPE_ITEMS)
      return fail(
        'too_many_items',
        `an envelope holds at most ${MAX_ENVELOPE_ITEMS} items`,
        MAX_ENVELOPE_ITEMS,
      );
    const where = `item ${items.length}`;
    const line = headerLine(body, pos, `the header of ${where}`, budget);
    if (!line.ok) return line;
    const type = itemType(line.value.type);
    if (type === undefined) return fail('bad_item_header', `the header of ${where} has no "type"`);
    const length = line.value.length;
    let payload: Buffer;
    if (length !== undefined && length !== null) {
      if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0)
        return fail('bad_item_header', `the "length" of ${where} must be a whole number of bytes`);
      if (line.next + length > body.length)
        return fail('wrong_length', `${where} says ${length} bytes but the envelope ends sooner`);
      payload = body.subarray(line.next, line.next + length);
      pos = line.next + length;
      // The payload must end where its length says: a newline or the end of the envelope.
      if (pos < body.length && body[pos] !== NEWLINE)
        return fail('wrong_length', `${where} is not followed by a newline where its "length" ends`);
      pos += 1;
    } else {
      if (line.next >= body.length && body[line.next - 1] !== NEWLINE)
        return fail('missing_newline', `the header of ${where} is not followed by a newline and a payload`);
      const at = body.indexOf(NEWLINE, line.next);
      const end = at === -1 ? body.length : at;
      payload = body.subarray(line.next, end);
      pos = end + 1;
    }
    if (PARSED_ITEM_TYPES.has(type) && payload.length > MAX_EVENT_ITEM_BYTES)
      return {
        ...fail(
          'item_too_large',
          `${where} (${type}) is over ${MAX_EVENT_ITEM_BYTES} bytes`,
          MAX_EVENT_ITEM_BYTES,
        ),
        tooLarge: true,
      };
    if (PARSED_ITEM_TYPES.has(type) && !spend(budget, payload, 0, payload.length)) return overBudget(budget);
    items.push({ type, payload });
  }
  return { ok: true, header: head.header, items };
}

/** The store endpoint's body: one event, as if it were an envelope with one `event` item. */
export function storeAsEnvelope(body: Buffer, maxValues = Number.MAX_SAFE_INTEGER): EnvelopeParse {
  if (body.length === 0) return fail('empty_body', 'the event is empty');
  if (body.length > MAX_EVENT_ITEM_BYTES)
    return {
      ...fail('item_too_large', `the event is over ${MAX_EVENT_ITEM_BYTES} bytes`, MAX_EVENT_ITEM_BYTES),
      tooLarge: true,
    };
  if (!spend({ left: maxValues, cap: maxValues }, body, 0, body.length))
    return overBudget({ left: 0, cap: maxValues });
  return { ok: true, header: {}, items: [{ type: 'event', payload: body }] };
}
