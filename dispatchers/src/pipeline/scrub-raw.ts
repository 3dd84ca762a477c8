import { createHash } from 'node:crypto';
import { scrubAttributes, scrubStack, scrubText, scrubUrl } from './enrich/scrub.js';

/**
 * Raw copies that leave the spool (dead letters, the Blob archive) carry no more than the stores
 * would keep: every string scrubbed like the stores scrub it, deny-listed keys filtered. The walk
 * is recursive over parsed JSON, bounded in depth, and the payload is bounded in size first.
 * Unlike a blind walk (scrubJsonValue), it knows the envelope's fields: stacks keep their frames
 * and dedupe ids stay as they are, so a replayed copy groups and dedupes like the live record.
 */

/** Deeper values are replaced, not walked: no batch of the protocol nests this deep. */
export const MAX_SCRUB_DEPTH = 32;
/** Larger payloads are not parsed: they are kept as capped text, like a payload that is not JSON. */
export const MAX_SCRUB_JSON_BYTES = 16 * 1024 * 1024;
/** What is kept of a payload that is not JSON: its first 64 KiB, scrubbed line by line. */
export const MAX_TEXT_COPY_BYTES = 64 * 1024;

const FILTERED = '[Filtered]';
const TOO_DEEP = '[Filtered: nested too deep]';
// Dedupe keys: the stores keep them as they are, so a replayed copy must keep them too.
const VERBATIM_KEYS = new Set(['id', 'batchId']);

/**
 * The key as the stores would keep it, and whether the deny list filters its value: asked of
 * scrubAttributes, so this walk follows the dispatchers' one deny list and key scrub.
 */
function scrubKey(key: string): { key: string; denied: boolean } {
  const [entry] = Object.entries(scrubAttributes({ [key]: '' }));
  return entry === undefined ? { key, denied: true } : { key: entry[0], denied: entry[1] === FILTERED };
}

function scrubString(key: string | undefined, value: string): string {
  if (key !== undefined && VERBATIM_KEYS.has(key)) return value;
  if (key === 'stack') return scrubStack(value);
  if (key === 'url') return scrubText(scrubUrl(value));
  return scrubText(value);
}

/** A parsed JSON value with every string scrubbed and deny-listed keys' values filtered. Pure. */
export function scrubRawJson(value: unknown): unknown {
  // A batch repeats the same few keys per event: each is asked of the deny list once.
  const keys = new Map<string, { key: string; denied: boolean }>();
  const walk = (node: unknown, key: string | undefined, depth: number): unknown => {
    if (typeof node === 'string') return scrubString(key, node);
    if (node === null || typeof node !== 'object') return node;
    if (depth >= MAX_SCRUB_DEPTH) return TOO_DEEP;
    if (Array.isArray(node)) return node.map((item) => walk(item, key, depth + 1));
    // fromEntries defines own properties: a "__proto__" key from the sender stays a plain key.
    return Object.fromEntries(
      Object.entries(node as Record<string, unknown>).map(([k, v]) => {
        let safe = keys.get(k);
        if (safe === undefined) keys.set(k, (safe = scrubKey(k)));
        return [safe.key, safe.denied ? FILTERED : walk(v, k, depth + 1)];
      }),
    );
  };
  return walk(value, undefined, 0);
}

/** What a scrubbed copy says about the payload it replaces. */
export interface RawPayloadInfo {
  /** `json`: the body is the scrubbed JSON; `text`: the payload was not JSON (or too large), the body is scrubbed capped text. */
  format: 'json' | 'text';
  /** Byte length of the original payload. */
  bytes: number;
  /** sha256 (hex) of the original payload: matches a copy found elsewhere without keeping it here. */
  sha256: string;
  /** True when the text copy holds only the first MAX_TEXT_COPY_BYTES. */
  truncated: boolean;
}

export interface ScrubbedPayload {
  body: Buffer;
  info: RawPayloadInfo;
}

function scrubLines(text: string): string {
  return text
    .split('\n')
    .map((line) => scrubText(line))
    .join('\n');
}

/** The copy of a raw spool record that may be kept outside the spool. */
export function scrubRawPayload(payload: Buffer): ScrubbedPayload {
  const base = { bytes: payload.length, sha256: createHash('sha256').update(payload).digest('hex') };
  if (payload.length <= MAX_SCRUB_JSON_BYTES) {
    let parsed: unknown;
    let isJson = true;
    try {
      parsed = JSON.parse(payload.toString('utf8'));
    } catch {
      isJson = false;
    }
    if (isJson)
      return {
        body: Buffer.from(JSON.stringify(scrubRawJson(parsed))),
        info: { format: 'json', ...base, truncated: false },
      };
  }
  const truncated = payload.length > MAX_TEXT_COPY_BYTES;
  const text = payload.subarray(0, MAX_TEXT_COPY_BYTES).toString('utf8');
  return { body: Buffer.from(scrubLines(text)), info: { format: 'text', ...base, truncated } };
}
