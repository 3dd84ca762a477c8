import { randomBytes } from 'node:crypto';

/** The ids a request carries; every log line written while it runs gets them (see telltaleMixin). */
export interface TraceIds {
  /** W3C trace id, 32 lowercase hex digits, never all zeros. */
  trace: string;
  /** W3C span (parent) id, 16 lowercase hex digits, never all zeros. */
  span: string;
}

// W3C Trace Context: `version-traceid-parentid-flags`, fixed widths, so one anchored pattern with no
// repetition runs in linear time on any header; anything longer than 512 characters is not looked at.
const TRACEPARENT = /^([\da-f]{2})-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})(-.*)?$/;
const MAX_HEADER = 512;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * The trace and parent ids of a `traceparent` header, or undefined when it is not one: version `ff`,
 * all-zero ids, upper-case hex and a version-00 header with extra fields are refused, as the spec says.
 */
export function parseTraceparent(header: unknown): TraceIds | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (typeof value !== 'string' || value.length > MAX_HEADER) return undefined;
  const match = TRACEPARENT.exec(value.trim());
  if (match === null) return undefined;
  const [, version, trace, span, , rest] = match;
  if (version === 'ff' || trace === ZERO_TRACE || span === ZERO_SPAN) return undefined;
  if (version === '00' && rest !== undefined) return undefined;
  return { trace: trace!, span: span! };
}

/** A new trace: random 16-byte trace id and 8-byte span id, as a W3C tracer would start one. */
export function newTraceIds(): TraceIds {
  return { trace: randomHex(16), span: randomHex(8) };
}

/** A new span id under an incoming trace: this server's own hop. */
export function newSpanId(): string {
  return randomHex(8);
}

function randomHex(bytes: number): string {
  // Astronomically unlikely, but the spec calls an all-zero id invalid.
  for (;;) {
    const hex = randomBytes(bytes).toString('hex');
    if (!/^0+$/.test(hex)) return hex;
  }
}

// Session and user ids the app sends beside `traceparent`: ids only, so a short, plain alphabet.
const ID = /^[\w.:@-]{1,128}$/;

/** An `x-telltale-session` / `x-telltale-user` header value, or undefined when it is not a plain id. */
export function headerId(header: unknown): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (typeof value !== 'string' || value.length > 128) return undefined;
  return ID.test(value) ? value : undefined;
}
