import {
  isDeniedKey,
  LIMITS,
  scrubId,
  scrubStack,
  scrubText,
  type Attributes,
  type ServerLog,
} from '@telltale/protocol';

/** A line as it is shipped, before its id (the journal position gives it one): scrubbed, valid. */
export type BufferedLine = Omit<ServerLog, 'id' | 'clientTs'>;

const LEVELS: ReadonlyArray<readonly [number, ServerLog['level']]> = [
  [60, 'fatal'],
  [50, 'error'],
  [40, 'warn'],
  [30, 'info'],
];
const LABELS = new Set(['debug', 'info', 'warn', 'error', 'fatal']);
// pino's own fields, and the context the mixin adds: they become columns, not attributes.
const RESERVED = new Set([
  'level',
  'time',
  'msg',
  'pid',
  'hostname',
  'name',
  'v',
  'trace',
  'span',
  'session',
  'user',
  'release',
  'environment',
]);
const HEX32 = /^[\da-f]{32}$/;
const HEX16 = /^[\da-f]{16}$/;

// The scrub rules are pure functions, and a logger repeats itself (message templates, attribute keys,
// enum-like values): remembered per worker, bounded, they cost once per distinct text, not per line.
const MEMO_MAX_ENTRIES = 4096;
const MEMO_MAX_LENGTH = 256;
function memo<T>(fn: (text: string) => T): (text: string) => T {
  const seen = new Map<string, T>();
  return (text) => {
    if (text.length > MEMO_MAX_LENGTH) return fn(text);
    let result = seen.get(text);
    if (result === undefined) {
      if (seen.size >= MEMO_MAX_ENTRIES) seen.clear();
      result = fn(text);
      seen.set(text, result);
    }
    return result;
  };
}
const FILTERED = '[Filtered]';
const textOf = memo(scrubText);
const idOf = memo(scrubId);
// What protocol's scrubAttributes does for one key: the key scrubbed like an id, and deny-listed or not.
const keyOf = memo((key: string) => ({ key: scrubId(key), denied: isDeniedKey(key) }));

function level(value: unknown): ServerLog['level'] {
  if (typeof value === 'number') {
    for (const [at, name] of LEVELS) if (value >= at) return name;
    return 'debug'; // trace and debug
  }
  if (typeof value === 'string') {
    const label = value.toLowerCase();
    if (LABELS.has(label)) return label as ServerLog['level'];
    if (label === 'trace') return 'debug';
  }
  return 'info';
}

function time(value: unknown, now: number): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const parsed = Date.parse(value);
    if (Number.isFinite(parsed) && parsed >= 0) return parsed;
  }
  return now;
}

function id(value: unknown): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const text = idOf(String(value));
  return text === '' ? undefined : text;
}

/** Scalars stay; an object one level deep is flattened (`err.message`); deeper values become capped JSON. */
function attributes(line: Record<string, unknown>): Attributes {
  const out: Attributes = {};
  let count = 0;
  const put = (key: string, value: unknown): void => {
    if (count >= LIMITS.maxAttributes) return;
    count += 1;
    if (value === null || typeof value === 'number' || typeof value === 'boolean')
      out[key] = typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
    else if (typeof value === 'string') out[key] = key.endsWith('stack') ? scrubStack(value) : value;
    else out[key] = safeJson(value);
  };
  for (const [key, value] of Object.entries(line)) {
    if (RESERVED.has(key) || value === undefined) continue;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const [inner, innerValue] of Object.entries(value as Record<string, unknown>))
        if (innerValue !== undefined) put(`${key}.${inner}`, innerValue);
    } else put(key, value);
  }
  // Key deny list (passwords, tokens, emails…) and the text rules, as the dispatchers apply them
  // (protocol's scrubAttributes, with its per-text results remembered).
  const scrubbed: Attributes = {};
  for (const [key, value] of Object.entries(out)) {
    const safe = keyOf(key);
    scrubbed[safe.key] = safe.denied ? FILTERED : typeof value === 'string' ? textOf(value) : value;
  }
  return scrubbed;
}

function safeJson(value: unknown): string {
  try {
    return (JSON.stringify(value) ?? '').slice(0, LIMITS.maxStringLength * 2);
  } catch {
    return '[unserializable]';
  }
}

/** A pino JSON line as a ServerLog, scrubbed with the dispatchers' rules before it leaves this machine. */
export function toServerLog(
  line: Record<string, unknown>,
  defaults: { service: string | undefined; release: string | undefined; environment: string | undefined },
  now = Date.now(),
): BufferedLine {
  const err =
    typeof line.err === 'object' && line.err !== null ? (line.err as Record<string, unknown>) : undefined;
  const rawMessage =
    typeof line.msg === 'string' ? line.msg : typeof err?.message === 'string' ? err.message : '';
  const out: BufferedLine = {
    ts: time(line.time, now),
    level: level(line.level),
    message: textOf(rawMessage),
    service: id(defaults.service ?? line.name) ?? 'app',
  };
  if (typeof line.trace === 'string' && HEX32.test(line.trace)) out.trace = line.trace;
  if (typeof line.span === 'string' && HEX16.test(line.span)) out.span = line.span;
  const session = id(line.session);
  const user = id(line.user);
  const release = id(defaults.release ?? line.release);
  const environment = id(defaults.environment ?? line.environment);
  if (session !== undefined) out.session = session;
  if (user !== undefined) out.user = user;
  if (release !== undefined) out.release = release;
  if (environment !== undefined) out.environment = environment;
  const attrs = attributes(line);
  if (Object.keys(attrs).length > 0) out.attrs = attrs;
  return out;
}

/**
 * A journal line as the collector gets it: pino's JSON (anything else is the message of a line of
 * its own), scrubbed, with its id first. Blank lines, and the zeros a power cut can leave, are none.
 */
export function wireLine(
  raw: string,
  id: string,
  defaults: { service: string | undefined; release: string | undefined; environment: string | undefined },
): string | undefined {
  let start = 0;
  while (start < raw.length && raw.charCodeAt(start) === 0) start += 1;
  const text = (start > 0 ? raw.slice(start) : raw).trimEnd();
  if (text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const line =
    typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : { msg: text };
  return JSON.stringify({ id, ...toServerLog(line, defaults) });
}
