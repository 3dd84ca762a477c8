import { createHash } from 'node:crypto';
import { LIMITS, validateServerLog, type ServerLog } from '@telltale/protocol';
import { parseJson, type DecodeFailure } from './decode.js';

/** Most lines in one `POST /v1/logs` (the same as events in a batch). */
export const MAX_LOG_LINES = LIMITS.maxEventsPerBatch;

export type LogLine = ServerLog & { id: string };
export type ParsedLogs = { ok: true; lines: LogLine[] } | DecodeFailure;

/** Keys in a fixed order, so one line always serializes to the same text whatever order it came in. */
function canonical(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(record[k])}`).join(',')}}`;
}

/**
 * A missing id is derived from the line's content, so a line sent again (a shipper's retry) gets
 * the same id and the stores keep it once. Two lines equal in every field, `ts` included, count once.
 */
export const contentId = (line: ServerLog): string =>
  `sl-${createHash('sha256').update(canonical(line)).digest('hex').slice(0, 32)}`;

const fail = (reason: string, message: string, field?: string): DecodeFailure => ({
  ok: false,
  code: 'TELLTALE_ERR_INVALID_LOGS',
  reason,
  message,
  ...(field !== undefined ? { field } : {}),
});

/** A JSON array of lines, or NDJSON (one JSON object per line; blank lines are skipped). */
function splitLines(text: string): { ok: true; values: unknown[] } | DecodeFailure {
  const start = text.search(/\S/);
  if (start < 0) return fail('empty_body', 'body has no log lines');
  if (text[start] === '[') {
    const parsed = parseJson(text);
    if (!parsed.ok) return parsed;
    return { ok: true, values: parsed.value as unknown[] };
  }
  const values: unknown[] = [];
  const rows = text.split('\n');
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!.trim();
    if (row === '') continue;
    if (values.length >= MAX_LOG_LINES)
      return fail('too_many_lines', `more than ${MAX_LOG_LINES} lines; send them in several requests`, '/');
    const parsed = parseJson(row, values.length + 1);
    if (!parsed.ok) return parsed;
    values.push(parsed.value);
  }
  return { ok: true, values };
}

/** Parses and validates `POST /v1/logs` text; each line checked against ServerLogSchema, ids filled in. */
export function parseServerLogs(text: string): ParsedLogs {
  const split = splitLines(text);
  if (!split.ok) return split;
  const { values } = split;
  if (values.length === 0) return fail('empty_body', 'body has no log lines');
  if (values.length > MAX_LOG_LINES)
    return fail('too_many_lines', `more than ${MAX_LOG_LINES} lines; send them in several requests`, '/');
  const lines: LogLine[] = [];
  for (let i = 0; i < values.length; i++) {
    const checked = validateServerLog(values[i]);
    if (!checked.ok) {
      const field = `/${i}${checked.path}`;
      return fail('schema', `${field}: ${checked.message}`, field);
    }
    const line = checked.value;
    delete line.clientTs; // only the collector sets it
    lines.push({ ...line, id: line.id ?? contentId(line) });
  }
  return { ok: true, lines };
}
