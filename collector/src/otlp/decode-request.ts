import type { LIMITS } from '@telltale/protocol';
import { checkJsonBudget, tooComplex } from '../body-budget.js';
import { parseJson, type DecodeFailure } from '../decode.js';
import { checkJsonShape } from '../json-guard.js';
import { checkLogsProtoBudget, decodeLogsProto, type OtlpLogsRequest } from './logs-proto.js';

/** OTLP JSON nests 10 levels before any AnyValue; 40 leaves room for values nested a few levels deep. */
export const OTLP_JSON_MAX_NESTING = 40;

export type OtlpFormat = 'json' | 'protobuf';
const invalid = (reason: string, message: string): DecodeFailure => ({
  ok: false,
  code: 'TELLTALE_ERR_INVALID_LOGS',
  reason,
  message,
});

/** An inflated OTLP body to an ExportLogsServiceRequest, its structural budget checked first. */
export function decodeOtlpRequest(
  raw: Buffer,
  format: OtlpFormat,
  maxValues: number,
): { ok: true; value: OtlpLogsRequest } | DecodeFailure {
  if (format === 'protobuf') {
    // Walked before decoding: decode and toObject cost per field, and 5M empty records fit in 10 KB.
    const budget = checkLogsProtoBudget(raw, maxValues);
    if (budget === 'over')
      return tooComplex(
        'too_many_fields',
        `the request holds more than ${maxValues} protobuf fields; export smaller batches`,
        maxValues,
      );
    if (budget === 'bad') return invalid('bad_protobuf', 'body is not a protobuf ExportLogsServiceRequest');
    try {
      return { ok: true, value: decodeLogsProto(raw) };
    } catch {
      // protobufjs's message may quote bytes of the body: keep it out of answers and logs.
      return invalid('bad_protobuf', 'body is not a protobuf ExportLogsServiceRequest');
    }
  }
  const over = checkJsonBudget(raw, maxValues);
  if (over) return over;
  const parsed = parseJson(raw.toString('utf8'), undefined, { shape: false });
  if (!parsed.ok) return parsed;
  // Bodies may be long (the mapping cuts them); depth and prototype keys are what must be refused here.
  const problem = checkJsonShape(
    parsed.value,
    OTLP_JSON_MAX_NESTING,
    raw.length as typeof LIMITS.maxStringLength, // typed as its default's literal
  );
  if (problem !== undefined)
    return {
      ok: false,
      code: problem.reason === 'forbidden_key' ? 'TELLTALE_ERR_INVALID_JSON' : 'TELLTALE_ERR_INVALID_LOGS',
      reason: problem.reason,
      field: problem.field,
      message: problem.message,
    };
  const value = parsed.value as OtlpLogsRequest | null;
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    !Array.isArray(value.resourceLogs ?? [])
  )
    return invalid('schema', 'body is not an ExportLogsServiceRequest (expected {"resourceLogs": [...]})');
  return { ok: true, value };
}
