import {
  LIMITS,
  type Batch,
  type Breadcrumb,
  type ErrorEvent,
  type LogEvent,
  type LogLevel,
} from '@telltale/protocol';

/**
 * A Sentry event (https://develop.sentry.dev/sdk/data-model/event-payloads/) as a Telltale error
 * event, keeping what our pipeline groups, symbolicates and shows, and dropping personal data:
 * of `user` only the id is kept; email, username and ip_address never reach the spool.
 */
export interface MappedEvent {
  event: ErrorEvent;
  /** Batch-level fields the event decides (the first event of an envelope wins). */
  release?: string;
  environment?: string;
  user?: string;
  session?: string;
  sdk?: string;
  userAgent?: string;
}

type Json = Record<string, unknown>;
const isRecord = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;
const clip = (value: string, max: number): string => (value.length > max ? value.slice(0, max) : value);
const id = (value: unknown): string | undefined => {
  const s = typeof value === 'number' && Number.isFinite(value) ? String(value) : str(value);
  return s === undefined ? undefined : clip(s, LIMITS.maxIdLength);
};
const text = (value: unknown): string => clip(str(value) ?? '', LIMITS.maxStringLength);
const list = (value: unknown): unknown[] =>
  Array.isArray(value) ? value : isRecord(value) && Array.isArray(value.values) ? value.values : [];

/** Sentry times are seconds (float) or RFC 3339 strings; ours are epoch ms. */
export function sentryTime(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return Math.round(value * 1000);
  if (typeof value === 'string' && value.length <= 64) {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

const LEVELS: Record<string, LogLevel> = {
  trace: 'debug',
  debug: 'debug',
  info: 'info',
  log: 'info',
  warning: 'warn',
  warn: 'warn',
  error: 'error',
  fatal: 'error',
  critical: 'error',
};
const levelOf = (value: unknown): LogLevel | undefined =>
  typeof value === 'string' ? LEVELS[value.toLowerCase()] : undefined;

/** A URL without its query and fragment: they carry tokens and personal data. */
export function withoutQuery(value: unknown): string | undefined {
  const url = str(value);
  if (url === undefined) return undefined;
  const cut = url.search(/[?#]/);
  return clip(cut === -1 ? url : url.slice(0, cut), LIMITS.maxStringLength);
}

interface SentryFrame {
  function?: unknown;
  filename?: unknown;
  abs_path?: unknown;
  module?: unknown;
  lineno?: unknown;
  colno?: unknown;
}

const MAX_FRAMES = 256;
const MAX_IMAGES = 256;
const DEBUG_ID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const SCHEME = /^[a-z][a-z0-9+.-]{0,30}:\/\//i;

/** `debug_meta.images` of type `sourcemap`: script URL → debug ID (sentry-cli sourcemaps inject). */
export function debugIdsOf(debugMeta: unknown): Map<string, string> {
  const found = new Map<string, string>();
  const images = isRecord(debugMeta) && Array.isArray(debugMeta.images) ? debugMeta.images : [];
  for (const image of images.slice(0, MAX_IMAGES)) {
    if (!isRecord(image) || image.type !== 'sourcemap') continue;
    const file = str(image.code_file);
    const id = str(image.debug_id);
    if (file !== undefined && id !== undefined && id.length <= 36 && DEBUG_ID.test(id))
      found.set(file, id.toLowerCase().replaceAll('-', ''));
  }
  return found;
}

/**
 * Sentry's frames (oldest call first) as V8 stack text (newest first): `    at fn (file:line:col)`,
 * the format dispatchers/src/intelligence/stack.ts parses and the symbolicator maps.
 */
export function stackText(
  header: string,
  frames: readonly unknown[],
  debugIds: ReadonlyMap<string, string> = new Map(),
): string {
  const lines = [header];
  let length = header.length;
  for (let i = frames.length - 1, n = 0; i >= 0 && n < MAX_FRAMES; i -= 1, n += 1) {
    const frame = frames[i];
    if (!isRecord(frame)) continue;
    const f = frame as SentryFrame;
    const file = str(f.abs_path) ?? str(f.filename) ?? str(f.module) ?? '<anonymous>';
    const line = typeof f.lineno === 'number' ? `:${f.lineno}` : '';
    const column = typeof f.lineno === 'number' && typeof f.colno === 'number' ? `:${f.colno}` : '';
    const fn = str(f.function);
    const debugId = SCHEME.test(file) ? debugIds.get(file) : undefined;
    // `debugid-<32 hex>+` before the scheme: the symbolicator reads it (artifact-store.ts frameDebugId);
    // grouping and map lookup drop scheme and host, and the scrubber keeps it (a fragment it would cut).
    const location = `${debugId ? `debugid-${debugId}+` : ''}${clip(file, 1000)}${line}${column}`;
    const text = fn && fn !== '?' ? `    at ${clip(fn, 200)} (${location})` : `    at ${location}`;
    // Whole frames only: a stack cut mid-frame would parse as a wrong location.
    if (length + 1 + text.length > LIMITS.maxStringLength) break;
    lines.push(text);
    length += 1 + text.length;
  }
  return lines.join('\n');
}

const MECHANISMS: Array<[string, string]> = [
  ['onunhandledrejection', 'onunhandledrejection'],
  ['onerror', 'onerror'],
  ['onuncaughtexception', 'onerror'],
];

function mechanismOf(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  const type = str(value.type)?.toLowerCase();
  if (type === undefined) return undefined;
  for (const [suffix, ours] of MECHANISMS) if (type.endsWith(suffix)) return ours;
  return type === 'generic' && value.handled !== false ? 'manual' : id(type);
}

function breadcrumbMessage(crumb: Json): string {
  const message = str(crumb.message);
  if (message !== undefined) return text(message);
  const data = isRecord(crumb.data) ? crumb.data : {};
  const url = withoutQuery(data.url);
  if (url !== undefined) {
    const status = typeof data.status_code === 'number' ? ` → ${data.status_code}` : '';
    return text(`${str(data.method) ?? 'GET'} ${url}${status}`);
  }
  const from = withoutQuery(data.from);
  const to = withoutQuery(data.to);
  if (to !== undefined) return text(`${from ?? ''} → ${to}`);
  return '';
}

/** Sentry's breadcrumbs (oldest first), the newest LIMITS.maxBreadcrumbs - reserve of them. */
function breadcrumbsOf(value: unknown, reserve: number, fallbackTs: number): Breadcrumb[] {
  const crumbs = list(value).filter(isRecord);
  return crumbs.slice(-Math.max(0, LIMITS.maxBreadcrumbs - reserve)).map((crumb) => {
    const level = levelOf(crumb.level);
    const category = id(crumb.category) ?? id(crumb.type);
    return {
      ts: sentryTime(crumb.timestamp) ?? fallbackTs,
      ...(level ? { level } : {}),
      ...(category ? { category } : {}),
      message: breadcrumbMessage(crumb),
    };
  });
}

/** `k=v` pairs of a flat record, bounded: tags and contexts have no field of their own in protocol v1. */
function pairs(record: Json, max: number): string {
  return Object.entries(record)
    .slice(0, max)
    .filter(([, v]) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
    .map(([k, v]) => `${clip(k, 64)}=${clip(String(v), 200)}`)
    .join(' ');
}

/** Browser, OS and device contexts in one line: `browser=Chrome 120 os=Windows 10 device=iPhone`. */
function contextLine(contexts: unknown): string {
  if (!isRecord(contexts)) return '';
  const parts: string[] = [];
  for (const name of ['browser', 'os', 'device'] as const) {
    const ctx = contexts[name];
    if (!isRecord(ctx)) continue;
    const label = [str(ctx.name) ?? str(ctx.model) ?? str(ctx.family), str(ctx.version)]
      .filter((s): s is string => s !== undefined)
      .map((s) => clip(s, 100))
      .join(' ');
    if (label !== '') parts.push(`${name}=${label}`);
  }
  return parts.join(' ');
}

function messageOf(event: Json): string | undefined {
  const message = event.message;
  if (typeof message === 'string') return message;
  if (isRecord(message)) return str(message.formatted) ?? str(message.message);
  const entry = event.logentry;
  if (isRecord(entry)) return str(entry.formatted) ?? str(entry.message);
  return undefined;
}

/** Maps one `event` item (or a store body); undefined when it is not a JSON object. */
export function mapSentryEvent(
  value: unknown,
  receivedAt: number,
  fallbackId: string,
): MappedEvent | undefined {
  if (!isRecord(value)) return undefined;
  const eventId = id(value.event_id) ?? fallbackId;
  const ts = sentryTime(value.timestamp) ?? receivedAt;
  const values = list(value.exception).filter(isRecord);
  // Sentry lists chained exceptions cause first: the last value is the one that was thrown.
  const thrown = values.at(-1);
  const message = messageOf(value);
  const type = id(thrown?.type) ?? (thrown ? 'Error' : 'Message');
  const description = str(thrown?.value) ?? message ?? '';
  const frames = isRecord(thrown?.stacktrace) ? list(thrown.stacktrace.frames) : [];

  const extras: Breadcrumb[] = [];
  const tags = isRecord(value.tags) ? pairs(value.tags, LIMITS.maxAttributes) : '';
  if (tags !== '') extras.push({ ts, category: 'sentry.tags', message: text(tags) });
  const contexts = contextLine(value.contexts);
  if (contexts !== '') extras.push({ ts, category: 'sentry.contexts', message: text(contexts) });
  const breadcrumbs = [...breadcrumbsOf(value.breadcrumbs, extras.length, ts), ...extras];

  const fingerprint = Array.isArray(value.fingerprint)
    ? value.fingerprint.filter((p): p is string => typeof p === 'string')
    : [];
  // `{{ default }}` asks for the default grouping, which is ours.
  const custom =
    fingerprint.length > 0 && !fingerprint.includes('{{ default }}') ? fingerprint.join(' ') : '';
  const request = isRecord(value.request) ? value.request : {};
  const url = withoutQuery(request.url);
  const contextsRecord = isRecord(value.contexts) ? value.contexts : {};
  const trace = isRecord(contextsRecord.trace) ? str(contextsRecord.trace.trace_id) : undefined;
  const mechanism = mechanismOf(thrown?.mechanism);

  const event: ErrorEvent = {
    id: eventId,
    ts,
    kind: 'error',
    type,
    message: text(description),
    ...(frames.length > 0
      ? { stack: stackText(clip(`${type}: ${description}`, 1000), frames, debugIdsOf(value.debug_meta)) }
      : {}),
    ...(mechanism ? { mechanism } : {}),
    ...(custom !== '' ? { fingerprint: clip(custom, LIMITS.maxIdLength) } : {}),
    ...(url ? { url } : {}),
    ...(trace && /^[0-9a-f]{32}$/.test(trace) ? { trace } : {}),
    ...(breadcrumbs.length > 0 ? { breadcrumbs } : {}),
  };
  const user = isRecord(value.user) ? id(value.user.id) : undefined;
  const sdk = isRecord(value.sdk) ? sdkName(value.sdk) : undefined;
  const headers = isRecord(request.headers) ? request.headers : {};
  const userAgent = str(headers['User-Agent']) ?? str(headers['user-agent']);
  const release = id(value.release);
  const environment = id(value.environment);
  return {
    event,
    ...(release ? { release } : {}),
    ...(environment ? { environment } : {}),
    ...(user ? { user } : {}),
    ...(trace ? { session: clip(trace, LIMITS.maxIdLength) } : {}),
    ...(sdk ? { sdk } : {}),
    ...(userAgent ? { userAgent } : {}),
  };
}

const sdkName = (sdk: Json): string | undefined => {
  const name = str(sdk.name);
  return name === undefined ? undefined : clip(`${name}/${str(sdk.version) ?? '?'}`, LIMITS.maxIdLength);
};

/** The `sdk` of an envelope header, for envelopes that carry only logs. */
export const envelopeSdk = (value: unknown): string | undefined =>
  isRecord(value) ? sdkName(value) : undefined;

/**
 * A `log` item (`{ items: [{ timestamp, level, body, trace_id, attributes }] }`, Sentry's logs
 * product) as client log events: they land on the same timeline as the app's own events.
 */
export function mapSentryLogs(
  value: unknown,
  receivedAt: number,
  idPrefix: string,
  max: number,
): { logs: LogEvent[]; release?: string; environment?: string; dropped: number } {
  const items = isRecord(value) && Array.isArray(value.items) ? value.items.filter(isRecord) : [];
  const logs: LogEvent[] = [];
  let release: string | undefined;
  let environment: string | undefined;
  for (const [i, item] of items.slice(0, max).entries()) {
    const attributes = isRecord(item.attributes) ? item.attributes : {};
    const attr = (name: string): unknown => {
      const a = attributes[name];
      return isRecord(a) ? a.value : a;
    };
    release ??= id(attr('sentry.release'));
    environment ??= id(attr('sentry.environment'));
    const trace = str(item.trace_id);
    logs.push({
      id: clip(`${idPrefix}-log-${i}`, LIMITS.maxIdLength),
      ts: sentryTime(item.timestamp) ?? receivedAt,
      kind: 'log',
      level: levelOf(item.level) ?? 'info',
      message: text(item.body),
      ...(trace && /^[0-9a-f]{32}$/.test(trace) ? { trace } : {}),
    });
  }
  return {
    logs,
    ...(release ? { release } : {}),
    ...(environment ? { environment } : {}),
    dropped: Math.max(0, items.length - logs.length),
  };
}

/** The batch an envelope becomes: one per envelope, its id from the envelope's event id (retries dedupe). */
export function assembleBatch(
  batchId: string,
  receivedAt: number,
  mapped: readonly MappedEvent[],
  logs: { logs: LogEvent[]; release?: string; environment?: string },
  sdk: string | undefined,
): Batch {
  const first = mapped[0];
  const events = [...mapped.map((m) => m.event), ...logs.logs].slice(0, LIMITS.maxEventsPerBatch);
  const user = first?.user;
  const chosenSdk = first?.sdk ?? sdk;
  return {
    v: 1,
    batchId,
    sentAt: receivedAt,
    release: first?.release ?? logs.release ?? 'unknown',
    environment: first?.environment ?? logs.environment ?? 'production',
    session: first?.session ?? batchId,
    ...(user ? { user } : {}),
    ...(chosenSdk ? { sdk: chosenSdk } : {}),
    events,
  };
}
