import { promisify } from 'node:util';
import {
  createGunzip,
  gunzip as gunzipCallback,
  inflate as inflateCallback,
  inflateRaw as inflateRawCallback,
  type InputType,
  type ZlibOptions,
} from 'node:zlib';
import type { ErrorCode } from '@telltale/protocol';
import { checkJsonShape } from './json-guard.js';

type Inflate = (input: InputType, options: ZlibOptions) => Promise<Buffer>;
const gunzip = promisify<InputType, ZlibOptions, Buffer>(gunzipCallback) as Inflate;
const inflate = promisify<InputType, ZlibOptions, Buffer>(inflateCallback) as Inflate;
const inflateRaw = promisify<InputType, ZlibOptions, Buffer>(inflateRawCallback) as Inflate;

export type BodyEncoding = 'gzip' | 'identity';

/** A refusal, ready for errorBody(); `reason` is the finer label of the rejection counter. */
export interface DecodeFailure {
  ok: false;
  code: ErrorCode;
  reason: string;
  message?: string;
  limit?: number;
  field?: string;
}

export type DecodeResult<T = unknown> = { ok: true; value: T; bytes: number } | DecodeFailure;

/** The Content-Encoding we accept, or undefined for anything else (415). */
export function parseContentEncoding(header: string | string[] | undefined): BodyEncoding | undefined {
  if (header === undefined) return 'identity';
  if (Array.isArray(header)) return undefined;
  const value = header.trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  return undefined;
}

export const isGzip = (body: Buffer): boolean => body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b;

const tooLarge = (limit: number): DecodeFailure => ({
  ok: false,
  code: 'TELLTALE_ERR_DECOMPRESSED_TOO_LARGE',
  reason: 'decompressed_too_large',
  limit,
});

/**
 * Request bytes inflated under the decompressed limit, still bytes (protobuf and envelopes stay
 * binary): gzip when declared or sniffed by its magic bytes, deflate (zlib-wrapped, or raw from some
 * clients) when declared. One buffered inflate, capped: zlib gives up once the output passes the
 * limit, so a 1 MB → 1 GB bomb costs about the limit in memory, not 1 GB.
 */
export async function inflateBody(
  body: Buffer,
  encoding: BodyEncoding | 'deflate',
  limit: number,
): Promise<{ ok: true; value: Buffer } | DecodeFailure> {
  const gzip = encoding === 'gzip' || (encoding === 'identity' && isGzip(body));
  if (!gzip && encoding === 'identity')
    return body.length > limit ? tooLarge(limit) : { ok: true, value: body };
  for (const run of gzip ? [gunzip] : [inflate, inflateRaw]) {
    try {
      return { ok: true, value: await run(body, { maxOutputLength: limit }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return tooLarge(limit);
    }
  }
  return gzip
    ? { ok: false, code: 'TELLTALE_ERR_BAD_GZIP', reason: 'bad_gzip' }
    : {
        ok: false,
        code: 'TELLTALE_ERR_BAD_GZIP',
        reason: 'bad_deflate',
        message: 'body is not valid deflate',
      };
}

/**
 * JSON text to a value whose shape cannot hurt us (depth, string sizes, prototype keys); with
 * `shape: false` the caller checks the shape itself (batches: a compiled schema check first).
 */
export function parseJson(
  text: string,
  lineNumber?: number,
  options: { shape?: boolean } = {},
): DecodeResult {
  const where = lineNumber === undefined ? 'body' : `line ${lineNumber}`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The parser's own message may quote the body: keep customer data out of answers and logs.
    return {
      ok: false,
      code: 'TELLTALE_ERR_INVALID_JSON',
      reason: 'invalid_json',
      message: `${where} is not valid JSON`,
    };
  }
  const problem = options.shape === false ? undefined : checkJsonShape(value);
  if (problem === undefined) return { ok: true, value, bytes: text.length };
  const field =
    lineNumber === undefined
      ? problem.field
      : `/${lineNumber - 1}${problem.field === '/' ? '' : problem.field}`;
  return {
    ok: false,
    code: problem.reason === 'forbidden_key' ? 'TELLTALE_ERR_INVALID_JSON' : 'TELLTALE_ERR_INVALID_BATCH',
    reason: problem.reason,
    field,
    message: lineNumber === undefined ? problem.message : `${where}: ${problem.message}`,
  };
}

/**
 * Inflates a gzip body only to count it, keeping nothing: true when it is whole and no larger than
 * `limit` once inflated, 'too_large' as soon as it passes the limit, 'bad' when it is not gzip.
 */
export function measureGzip(
  body: Buffer,
  limit: number,
): Promise<{ ok: true; bytes: number } | { ok: false; reason: 'too_large' | 'bad' }> {
  return new Promise((resolve) => {
    const inflate = createGunzip();
    let bytes = 0;
    let settled = false;
    const finish = (result: { ok: true; bytes: number } | { ok: false; reason: 'too_large' | 'bad' }) => {
      if (settled) return;
      settled = true;
      inflate.destroy();
      resolve(result);
    };
    inflate.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > limit) finish({ ok: false, reason: 'too_large' });
    });
    inflate.on('end', () => finish({ ok: true, bytes }));
    inflate.on('error', () => finish({ ok: false, reason: 'bad' }));
    inflate.end(body);
  });
}
