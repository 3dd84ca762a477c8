import { promisify } from 'node:util';
import { gunzip as gunzipCallback, type InputType, type ZlibOptions } from 'node:zlib';
import type { ErrorCode } from '@telltale/protocol';
import secureJson from 'secure-json-parse';
import type { CollectorLimits } from './config.js';

const gunzip = promisify<InputType, ZlibOptions, Buffer>(gunzipCallback);
const utf8 = new TextDecoder('utf-8', { fatal: true });

export type BodyEncoding = 'gzip' | 'identity';

/** A refusal, ready for errorBody(). */
export interface DecodeFailure {
  ok: false;
  code: ErrorCode;
  message?: string;
  limit?: number;
}

export type DecodeResult = { ok: true; value: unknown } | DecodeFailure;

/** The Content-Encoding we accept, or undefined for anything else (415). */
export function parseContentEncoding(header: string | string[] | undefined): BodyEncoding | undefined {
  if (header === undefined) return 'identity';
  if (Array.isArray(header)) return undefined;
  const value = header.trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  return undefined;
}

const isGzip = (body: Buffer): boolean => body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b;

/**
 * Request bytes to a parsed JSON value: gunzip (declared, or sniffed by magic bytes for the SDK's
 * no-preflight text/plain form) under the decompressed limit, strict UTF-8, prototype-safe JSON.
 */
export async function decodeBody(
  body: Buffer | undefined,
  encoding: BodyEncoding,
  limits: CollectorLimits,
): Promise<DecodeResult> {
  if (body === undefined || body.length === 0)
    return { ok: false, code: 'TELLTALE_ERR_INVALID_JSON', message: 'body is empty' };

  let json = body;
  if (encoding === 'gzip' || isGzip(body)) {
    try {
      // maxOutputLength stops inflating at the limit: a 1 MB → 1 GB bomb costs 10 MB, not 1 GB.
      json = await gunzip(body, { maxOutputLength: limits.maxDecompressedBytes });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        return { ok: false, code: 'TELLTALE_ERR_DECOMPRESSED_TOO_LARGE', limit: limits.maxDecompressedBytes };
      }
      return { ok: false, code: 'TELLTALE_ERR_BAD_GZIP' };
    }
  } else if (body.length > limits.maxDecompressedBytes) {
    return { ok: false, code: 'TELLTALE_ERR_DECOMPRESSED_TOO_LARGE', limit: limits.maxDecompressedBytes };
  }

  let text: string;
  try {
    text = utf8.decode(json);
  } catch {
    return { ok: false, code: 'TELLTALE_ERR_INVALID_JSON', message: 'body is not valid UTF-8' };
  }

  try {
    return {
      ok: true,
      value: secureJson.parse(text, null, { protoAction: 'error', constructorAction: 'error' }) as unknown,
    };
  } catch (error) {
    // secure-json-parse throws with this wording for __proto__ / constructor.prototype keys.
    const forbidden = error instanceof Error && /forbidden prototype property/i.test(error.message);
    return {
      ok: false,
      code: 'TELLTALE_ERR_INVALID_JSON',
      // The parser's own message may quote the body: keep customer data out of answers and logs.
      message: forbidden
        ? 'body contains a forbidden "__proto__" or "constructor.prototype" key'
        : 'body is not valid JSON',
    };
  }
}
