import {
  LIMITS,
  validateServerLog,
  type Attributes,
  type LogLevel,
  type ServerLog,
} from '@telltale/protocol';
import { contentId, MAX_LOG_LINES, type LogLine } from '../server-logs.js';
import type { OtlpAnyValue, OtlpKeyValue, OtlpLogRecord, OtlpLogsRequest, WireLong } from './logs-proto.js';

/** Deepest AnyValue nesting written out in a body or attribute; deeper values become "…". */
export const MAX_VALUE_DEPTH = 4;
/** The service of a record whose resource has no `service.name` (the OTel SDKs' own default). */
export const UNKNOWN_SERVICE = 'unknown_service';
/** Key set on a line whose attributes were cut to the protocol's cap: how many were left out. */
export const DROPPED_KEY = 'otel.dropped_attributes';

export type Scalar = string | number | boolean | null;

export interface MappedLogs {
  lines: LogLine[];
  /** Records dropped (their reasons in `errorMessage`): the answer's `partialSuccess`. */
  rejected: number;
  errorMessage: string;
}

export type MapResult = { ok: true; value: MappedLogs } | { ok: false; reason: string; message: string };

const cut = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

function wireNumber(value: WireLong | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'number' ? value : Number(String(value));
  return Number.isFinite(n) ? n : Number.NaN;
}

/** int64 as a JS number when it is exact, else its decimal text. */
function int64(value: WireLong): number | string {
  const text = String(value);
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : cut(text, 32);
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/**
 * OTLP ids: hex in JSON, bytes in protobuf. Empty or all zeros means "none"; anything else that is
 * not `length` hex digits is a bad record.
 */
function otlpId(value: string | Uint8Array | undefined, length: number): string | undefined | false {
  if (value === undefined) return undefined;
  const text = typeof value === 'string' ? value.toLowerCase() : hex(value);
  if (text === '' || /^0+$/.test(text)) return undefined;
  return text.length === length && /^[0-9a-f]+$/.test(text) ? text : false;
}

/**
 * An AnyValue as text: strings as they are, the rest as compact JSON, nested values cut at
 * MAX_VALUE_DEPTH and the whole at `max` characters. The walk stops adding once the text is long
 * enough, so a huge kvlist costs what `max` allows, and its depth is capped, so it cannot blow the stack.
 */
export function anyValueText(value: OtlpAnyValue | undefined, max: number): string {
  if (value === undefined) return '';
  if (typeof value.stringValue === 'string') return cut(value.stringValue, max);
  const parts: string[] = [];
  let length = 0;
  const push = (text: string): boolean => {
    parts.push(text);
    length += text.length;
    return length <= max;
  };
  const walk = (v: OtlpAnyValue | undefined, depth: number): boolean => {
    if (v === undefined) return push('null');
    if (typeof v.stringValue === 'string') return push(JSON.stringify(cut(v.stringValue, max)));
    if (v.arrayValue !== undefined || v.kvlistValue !== undefined) {
      if (depth >= MAX_VALUE_DEPTH) return push('"…"');
      const isArray = v.arrayValue !== undefined;
      const items = (isArray ? v.arrayValue?.values : v.kvlistValue?.values) ?? [];
      if (!push(isArray ? '[' : '{')) return false;
      for (let i = 0; i < items.length; i++) {
        if (i > 0 && !push(',')) return false;
        if (isArray) {
          if (!walk(items[i] as OtlpAnyValue, depth + 1)) return false;
        } else {
          const kv = items[i] as OtlpKeyValue;
          if (!push(`${JSON.stringify(cut(String(kv.key ?? ''), LIMITS.maxIdLength))}:`)) return false;
          if (!walk(kv.value, depth + 1)) return false;
        }
      }
      return push(isArray ? ']' : '}');
    }
    return push(JSON.stringify(scalarOf(v)));
  };
  walk(value, 0);
  return cut(parts.join(''), max);
}

/** A non-nested AnyValue as an attribute scalar; nested ones become bounded JSON text. */
function scalarOf(value: OtlpAnyValue | undefined): Scalar {
  if (value === undefined) return null;
  if (typeof value.stringValue === 'string') return cut(value.stringValue, LIMITS.maxStringLength);
  if (typeof value.boolValue === 'boolean') return value.boolValue;
  if (value.intValue !== undefined) return int64(value.intValue);
  if (value.doubleValue !== undefined) {
    const n = Number(value.doubleValue);
    return Number.isFinite(n) ? n : String(value.doubleValue);
  }
  if (value.bytesValue !== undefined)
    return cut(
      typeof value.bytesValue === 'string'
        ? value.bytesValue
        : Buffer.from(value.bytesValue).toString('base64'),
      LIMITS.maxStringLength,
    );
  if (value.arrayValue !== undefined || value.kvlistValue !== undefined)
    return anyValueText(value, LIMITS.maxStringLength);
  return null;
}

/** Attribute lists as a bounded map: at most `room` keys kept, the rest counted. */
function collect(into: Map<string, Scalar>, list: OtlpKeyValue[] | undefined, room: number): number {
  let dropped = 0;
  for (const kv of list ?? []) {
    const key = typeof kv.key === 'string' ? kv.key : '';
    if (key === '' || key.length > LIMITS.maxIdLength || into.has(key)) {
      if (key !== '' && !into.has(key)) dropped++;
      continue;
    }
    if (into.size >= room) {
      dropped++;
      continue;
    }
    into.set(key, scalarOf(kv.value));
  }
  return dropped;
}

/** SeverityNumber ranges (TRACE 1–4, DEBUG 5–8, INFO 9–12, WARN 13–16, ERROR 17–20, FATAL 21–24). */
export function levelOf(severity: number | string | undefined, text: string | undefined): ServerLog['level'] {
  const n = Number(severity ?? 0);
  if (n >= 21) return 'fatal';
  if (n >= 17) return 'error';
  if (n >= 13) return 'warn';
  if (n >= 9) return 'info';
  if (n >= 1) return 'debug';
  const word = (text ?? '').slice(0, 16).toLowerCase();
  if (word.startsWith('fatal') || word.startsWith('crit') || word.startsWith('emerg')) return 'fatal';
  if (word.startsWith('err')) return 'error';
  if (word.startsWith('warn')) return 'warn';
  if (word.startsWith('debug') || word.startsWith('trace')) return 'debug';
  return 'info' satisfies LogLevel;
}

/** Ids the timeline joins on, read from well-known attribute names (OTel semantic conventions first). */
const ID_ATTRIBUTES = {
  session: ['session.id', 'telltale.session'],
  user: ['user.id', 'enduser.id', 'telltale.user'],
  account: ['account.id', 'telltale.account'],
  release: ['service.version'],
  environment: ['deployment.environment.name', 'deployment.environment'],
} as const;

function idFrom(attrs: ReadonlyMap<string, Scalar>, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = attrs.get(name);
    if (typeof value === 'string' && value !== '') return cut(value, LIMITS.maxIdLength);
  }
  return undefined;
}

function timeMs(record: OtlpLogRecord, receivedAt: number): number | undefined {
  for (const field of [record.timeUnixNano, record.observedTimeUnixNano]) {
    const ns = wireNumber(field);
    if (ns === undefined || ns === 0) continue;
    if (!Number.isFinite(ns) || ns < 0) return undefined;
    return Math.floor(ns / 1e6);
  }
  return receivedAt;
}

/**
 * An ExportLogsServiceRequest as server log lines. A record that cannot be stored (a malformed id
 * or time) is dropped and counted for `partialSuccess`, never failing the others.
 */
export function mapOtlpLogs(request: OtlpLogsRequest, receivedAt: number): MapResult {
  const lines: LogLine[] = [];
  let rejected = 0;
  const reasons = new Set<string>();
  let records = 0;
  for (const resourceLogs of request.resourceLogs ?? []) {
    const resource = new Map<string, Scalar>();
    collect(resource, resourceLogs.resource?.attributes, LIMITS.maxAttributes);
    const serviceName = resource.get('service.name');
    const service =
      typeof serviceName === 'string' && serviceName !== ''
        ? cut(serviceName, LIMITS.maxIdLength)
        : UNKNOWN_SERVICE;
    for (const scopeLogs of resourceLogs.scopeLogs ?? []) {
      for (const record of scopeLogs.logRecords ?? []) {
        if (++records > MAX_LOG_LINES)
          return {
            ok: false,
            reason: 'too_many_lines',
            message: `more than ${MAX_LOG_LINES} log records; export smaller batches (maxExportBatchSize)`,
          };
        const trace = otlpId(record.traceId, 32);
        const span = otlpId(record.spanId, 16);
        const ts = timeMs(record, receivedAt);
        if (trace === false || span === false || ts === undefined) {
          rejected++;
          reasons.add(ts === undefined ? 'bad timeUnixNano' : trace === false ? 'bad traceId' : 'bad spanId');
          continue;
        }
        // The record's own attributes first, then its resource's and scope's: the cap cuts the least specific.
        const attrs = new Map<string, Scalar>();
        let dropped = collect(attrs, record.attributes, LIMITS.maxAttributes - 1);
        for (const [key, value] of resource)
          if (key !== 'service.name' && !attrs.has(key)) {
            if (attrs.size < LIMITS.maxAttributes - 1) attrs.set(key, value);
            else dropped++;
          }
        const scope = scopeLogs.scope;
        if (scope?.name && attrs.size < LIMITS.maxAttributes - 1)
          attrs.set('otel.scope.name', cut(scope.name, LIMITS.maxIdLength));
        if (record.eventName && attrs.size < LIMITS.maxAttributes - 1)
          attrs.set('event.name', cut(record.eventName, LIMITS.maxIdLength));
        if (dropped > 0) attrs.set(DROPPED_KEY, dropped);

        const line: ServerLog = {
          ts,
          level: levelOf(record.severityNumber, record.severityText),
          message: anyValueText(record.body, LIMITS.maxStringLength),
          service,
        };
        if (trace !== undefined) line.trace = trace;
        if (span !== undefined) line.span = span;
        for (const field of ['session', 'user', 'account', 'release', 'environment'] as const) {
          const id = idFrom(attrs, ID_ATTRIBUTES[field]);
          if (id !== undefined) line[field] = id;
        }
        if (attrs.size > 0) line.attrs = Object.fromEntries(attrs) as Attributes;
        if (!validateServerLog(line).ok) {
          rejected++;
          reasons.add('unstorable record');
          continue;
        }
        lines.push({ ...line, id: contentId(line) });
      }
    }
  }
  const errorMessage = rejected === 0 ? '' : `${rejected} log records dropped: ${[...reasons].join(', ')}`;
  return { ok: true, value: { lines, rejected, errorMessage } };
}
