import type { Attributes, Batch, SpoolEnvelope, TelltaleEvent } from '@telltale/protocol';
import { fingerprintError, groupingText } from '../../intelligence/index.js';
import { createMemo, memoKey, memoText } from './memo.js';
import { scrubAttributes, scrubId, scrubStack, scrubText, scrubUrl } from './scrub.js';
import { parseUserAgent } from './user-agent.js';

/**
 * One stored event: a flat row, one field per column of the DuckDB `events` table (camelCase here,
 * snake_case there). Nulls are explicit so every sink sees the same shape.
 */
export interface EnrichedEvent {
  app: string;
  id: string;
  kind: TelltaleEvent['kind'];
  /** Event time from the client clock, epoch ms (the collector time when the client's is impossible). */
  ts: number;
  /** Collector time, epoch ms; `day` in the store is its UTC date. */
  receivedAt: number;
  batchId: string;
  release: string;
  environment: string;
  session: string;
  userId: string | null;
  accountId: string | null;
  url: string | null;
  trace: string | null;
  online: boolean | null;
  /** Errors only: 32 hex chars grouping occurrences of the same bug. */
  fingerprint: string | null;
  /** Assert name, feature name, or the reason of a blocked event. */
  name: string | null;
  errorType: string | null;
  message: string | null;
  stack: string | null;
  /** Log level; `error` for errors, `warn`/`error` for soft/hard asserts. */
  level: string | null;
  /** How often the error happened in the session; 1 for every other event. */
  count: number;
  soft: boolean | null;
  /** JSON text of assert `vars` or feature/blocked `props`. */
  attrs: string | null;
  /** JSON text of the breadcrumbs attached to the event. */
  breadcrumbs: string | null;
  browser: string | null;
  browserVersion: string | null;
  os: string | null;
  osVersion: string | null;
  device: string | null;
  loadMs: number | null;
  adblock: boolean | null;
}

// TIMESTAMP holds years 1..9999; anything outside (a broken client clock) falls back to the collector time.
const MAX_TIMESTAMP_MS = 253_402_300_799_999;
const MAX_INTEGER = 2_147_483_647;

function eventTime(ts: number, receivedAt: number): number {
  return Number.isFinite(ts) && ts >= 0 && ts <= MAX_TIMESTAMP_MS ? Math.round(ts) : receivedAt;
}

type ErrorEvent = Extract<TelltaleEvent, { kind: 'error' }>;
interface ErrorText {
  fingerprint: string;
  errorType: string;
  message: string;
  stack: string | null;
}

// Memos of the scrubbers and the fingerprint (memo.ts): each maps a raw text to what the scrubber
// returned for it. Errors are keyed on everything that decides their stored text and group.
const memoScrubText = memoText(scrubText);
const memoScrubId = memoText(scrubId, { maxChars: 1024 * 1024 });
const memoScrubUrl = memoText(scrubUrl, { maxChars: 1024 * 1024 });
const errorTexts = createMemo<ErrorText>(
  (e) => e.message.length + (e.stack?.length ?? 0) + e.errorType.length + e.fingerprint.length,
  { max: 2_048, maxChars: 8 * 1024 * 1024 },
);
/** Attribute key → its scrubbed form and, when deny-listed, the value stored instead (asked of scrubAttributes). */
const attributeKeys = createMemo<{ key: string; filtered: string | undefined } | null>(
  (k) => (k === null ? 0 : k.key.length + (k.filtered?.length ?? 0)),
  { max: 1_024, maxChars: 256 * 1024 },
);

function errorText(event: ErrorEvent): ErrorText {
  return errorTexts.get(memoKey(event.type, event.message, event.stack, event.fingerprint), () => {
    const stack = event.stack === undefined ? null : scrubStack(event.stack);
    const errorType = scrubId(event.type);
    return {
      fingerprint: fingerprintError({
        type: errorType,
        // Hashed, never stored: grouped on the message as the scrubber before issue 9 left it, so
        // a stronger scrubber does not move existing groups.
        message: groupingText(event.message),
        stack: stack ?? undefined,
        fingerprint: event.fingerprint,
      }),
      errorType,
      message: scrubText(event.message),
      stack,
    };
  });
}

/** scrubAttributes, with each key's answer and each string value remembered: the same output. */
function scrubAttrs(attrs: Attributes): Attributes {
  const result: Attributes = {};
  for (const [key, value] of Object.entries(attrs)) {
    const safe = attributeKeys.get(key, () => {
      const [entry] = Object.entries(scrubAttributes({ [key]: '' }));
      // No entry: the key scrubs to one a plain object cannot hold (`__proto__`); scrubAttributes drops it too.
      if (entry === undefined) return null;
      // scrubText('') is '': anything else is the deny list's replacement.
      return { key: entry[0], filtered: entry[1] === '' ? undefined : String(entry[1]) };
    });
    if (safe === null) continue;
    result[safe.key] = safe.filtered ?? (typeof value === 'string' ? memoScrubText(value) : value);
  }
  return result;
}

function kindFields(
  event: TelltaleEvent,
): Pick<
  EnrichedEvent,
  'fingerprint' | 'name' | 'errorType' | 'message' | 'stack' | 'level' | 'count' | 'soft' | 'attrs'
> {
  switch (event.kind) {
    case 'error': {
      const { fingerprint, errorType, message, stack } = errorText(event);
      return {
        fingerprint,
        name: null,
        errorType,
        message,
        stack,
        level: 'error',
        count: Math.min(event.count ?? 1, MAX_INTEGER),
        soft: null,
        attrs: null,
      };
    }
    case 'assert':
      return {
        fingerprint: null,
        name: memoScrubId(event.name),
        errorType: null,
        message: null,
        stack: null,
        level: event.soft ? 'warn' : 'error',
        count: Math.min(event.count ?? 1, MAX_INTEGER),
        soft: event.soft,
        attrs: event.vars === undefined ? null : JSON.stringify(scrubAttrs(event.vars)),
      };
    case 'feature':
    case 'blocked':
      return {
        fingerprint: null,
        name: memoScrubId(event.kind === 'feature' ? event.name : event.reason),
        errorType: null,
        message: null,
        stack: null,
        level: null,
        // the SDK aggregates repeats between uploads (protocol v1 `count`)
        count: Math.min(event.count ?? 1, MAX_INTEGER),
        soft: null,
        attrs: event.props === undefined ? null : JSON.stringify(scrubAttrs(event.props)),
      };
    case 'log':
      return {
        fingerprint: null,
        name: null,
        errorType: null,
        message: memoScrubText(event.message),
        stack: null,
        level: event.level,
        count: 1,
        soft: null,
        attrs: null,
      };
  }
}

function breadcrumbsJson(event: TelltaleEvent): string | null {
  if (event.breadcrumbs === undefined || event.breadcrumbs.length === 0) return null;
  return JSON.stringify(
    event.breadcrumbs.map((crumb) => ({
      ...crumb,
      ...(crumb.category === undefined ? {} : { category: memoScrubId(crumb.category) }),
      message: memoScrubText(crumb.message),
    })),
  );
}

function enrichEvent(
  envelope: SpoolEnvelope,
  batch: Batch,
  event: TelltaleEvent,
  ua: ReturnType<typeof parseUserAgent>,
): EnrichedEvent {
  const k = kindFields(event);
  // Every field written out in one literal (no spread): one object shape for every event, built in one go.
  return {
    app: envelope.app,
    id: event.id,
    kind: event.kind,
    ts: eventTime(event.ts, envelope.receivedAt),
    receivedAt: envelope.receivedAt,
    batchId: batch.batchId,
    release: batch.release,
    environment: batch.environment,
    session: batch.session,
    userId: batch.user ?? null,
    accountId: batch.account ?? null,
    url: event.url === undefined ? null : memoScrubUrl(event.url),
    trace: event.trace ?? null,
    online: event.online ?? null,
    fingerprint: k.fingerprint,
    name: k.name,
    errorType: k.errorType,
    message: k.message,
    stack: k.stack,
    level: k.level,
    count: k.count,
    soft: k.soft,
    attrs: k.attrs,
    breadcrumbs: breadcrumbsJson(event),
    browser: ua.browser,
    browserVersion: ua.browserVersion,
    os: ua.os,
    osVersion: ua.osVersion,
    device: ua.device,
    loadMs: batch.loadMs ?? null,
    adblock: batch.adblock ?? null,
  };
}

/** One spool envelope (a client batch) → one flat row per event: user agent parsed, errors fingerprinted, text scrubbed. */
export function enrichEnvelope(envelope: SpoolEnvelope): EnrichedEvent[] {
  const ua = parseUserAgent(envelope.userAgent);
  return envelope.batch.events.map((event) => enrichEvent(envelope, envelope.batch, event, ua));
}
