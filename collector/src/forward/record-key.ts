import { kafkaRecordKey } from '@telltale/protocol';

/**
 * The partition key of a spool record, so one app's session (client) or one service's stream
 * (server logs) stays on one partition and is consumed in order. Found without parsing the record
 * (a full JSON.parse of a 10 MiB batch blocks the collector's event loop for hundreds of ms): a
 * structural scan of the envelope's first FORWARD_KEY_SCAN_BYTES. The collector writes `v`, `app`,
 * `receivedAt`, `userAgent` before `batch`/`logs`, and the SDKs put `session` before `events`, so
 * the scan ends within a few hundred bytes. A key beyond the window (or a record that does not scan,
 * never expected: it was validated when spooled) falls back to the app alone, or no key, rather
 * than holding the record back: ordering is a convenience, delivery is the promise.
 */
export const FORWARD_KEY_SCAN_BYTES = 64 * 1024;
/** Longer key strings are not read (an app id or session is far shorter): the key falls back. */
const MAX_KEY_STRING_BYTES = 1024;

export function clientRecordKey(payload: Buffer): string | undefined {
  const scan = new Scan(payload);
  const app = scan.stringAt(scan.field(0, 'app'));
  if (app === undefined) return undefined;
  const session = scan.stringAt(scan.field(scan.field(0, 'batch'), 'session'));
  return kafkaRecordKey(app, session);
}

/** Server logs: the first line's service, else its request's trace id (one envelope is one request of one service). */
export function serverRecordKey(payload: Buffer): string | undefined {
  const scan = new Scan(payload);
  const app = scan.stringAt(scan.field(0, 'app'));
  if (app === undefined) return undefined;
  const first = scan.firstElement(scan.field(0, 'logs'));
  const stream = scan.stringAt(scan.field(first, 'service')) ?? scan.stringAt(scan.field(first, 'trace'));
  return kafkaRecordKey(app, stream);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;

/** Positions into the payload, -1 for "not found within the window". Bytes, not characters: JSON's structure is ASCII. */
class Scan {
  private readonly end: number;
  constructor(private readonly buf: Buffer) {
    this.end = Math.min(buf.length, FORWARD_KEY_SCAN_BYTES);
  }

  private ws(i: number): number {
    while (i < this.end) {
      const c = this.buf[i]!;
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return i;
      i += 1;
    }
    return -1;
  }

  /** `i` at an opening quote: the index after the closing one. */
  private skipString(i: number): number {
    for (i += 1; i < this.end; i += 1) {
      const c = this.buf[i]!;
      if (c === BACKSLASH) i += 1;
      else if (c === QUOTE) return i + 1;
    }
    return -1;
  }

  /** `i` at a value: the index after it. */
  private skipValue(i: number): number {
    const first = this.buf[i];
    if (first === QUOTE) return this.skipString(i);
    if (first === 0x7b || first === 0x5b) {
      let depth = 0;
      while (i < this.end) {
        const c = this.buf[i]!;
        if (c === QUOTE) {
          i = this.skipString(i);
          if (i < 0) return -1;
          continue;
        }
        if (c === 0x7b || c === 0x5b) depth += 1;
        else if (c === 0x7d || c === 0x5d) {
          depth -= 1;
          if (depth === 0) return i + 1;
        }
        i += 1;
      }
      return -1;
    }
    // number, true, false, null
    while (i < this.end) {
      const c = this.buf[i]!;
      if (c === COMMA || c === 0x7d || c === 0x5d || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09)
        return i;
      i += 1;
    }
    return -1;
  }

  /** The start of the value of top-level field `name` of the object at `at`. */
  field(at: number, name: string): number {
    if (at < 0 || this.buf[at] !== 0x7b) return -1;
    let i = this.ws(at + 1);
    while (i >= 0 && this.buf[i] === QUOTE) {
      const keyEnd = this.skipString(i);
      if (keyEnd < 0) return -1;
      const key = this.buf.toString('utf8', i + 1, keyEnd - 1);
      i = this.ws(keyEnd);
      if (i < 0 || this.buf[i] !== COLON) return -1;
      i = this.ws(i + 1);
      if (i < 0) return -1;
      if (key === name) return i;
      i = this.skipValue(i);
      if (i < 0) return -1;
      i = this.ws(i);
      if (i < 0 || this.buf[i] !== COMMA) return -1;
      i = this.ws(i + 1);
    }
    return -1;
  }

  /** The first element of the array at `at`. */
  firstElement(at: number): number {
    if (at < 0 || this.buf[at] !== 0x5b) return -1;
    return this.ws(at + 1);
  }

  /** The string at `at`, decoded (escapes too); undefined for anything else. */
  stringAt(at: number): string | undefined {
    if (at < 0 || this.buf[at] !== QUOTE) return undefined;
    const end = this.skipString(at);
    if (end < 0 || end - at > MAX_KEY_STRING_BYTES) return undefined;
    try {
      const value = JSON.parse(this.buf.toString('utf8', at, end)) as unknown;
      return typeof value === 'string' ? value : undefined;
    } catch {
      return undefined;
    }
  }
}
