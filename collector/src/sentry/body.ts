import { promisify } from 'node:util';
import {
  gunzip as gunzipCallback,
  inflate as inflateCallback,
  inflateRaw as inflateRawCallback,
  type InputType,
  type ZlibOptions,
} from 'node:zlib';
import { isGzip, type DecodeFailure } from '../decode.js';

type Inflate = (input: InputType, options: ZlibOptions) => Promise<Buffer>;
const gunzip = promisify<InputType, ZlibOptions, Buffer>(gunzipCallback) as Inflate;
const inflate = promisify<InputType, ZlibOptions, Buffer>(inflateCallback) as Inflate;
const inflateRaw = promisify<InputType, ZlibOptions, Buffer>(inflateRawCallback) as Inflate;

/** Content-Encodings Sentry's SDKs and Relay speak: gzip (@sentry/node above 32 KB), deflate, none. */
export type SentryEncoding = 'gzip' | 'deflate' | 'identity';

export function parseSentryEncoding(header: string | string[] | undefined): SentryEncoding | undefined {
  if (header === undefined) return 'identity';
  if (Array.isArray(header)) return undefined;
  const value = header.trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  if (value === 'deflate') return 'deflate';
  return undefined;
}

const tooLarge = (limit: number): DecodeFailure => ({
  ok: false,
  code: 'TELLTALE_ERR_DECOMPRESSED_TOO_LARGE',
  reason: 'decompressed_too_large',
  limit,
});

/**
 * The envelope's bytes (binary items stay binary: no UTF-8 decoding here), inflated as decode.ts
 * does for batches: zlib's maxOutputLength stops the inflate at the limit, so a bomb costs the
 * limit, not its inflated size.
 */
export async function inflateEnvelope(
  body: Buffer,
  encoding: SentryEncoding,
  limit: number,
): Promise<{ ok: true; value: Buffer } | DecodeFailure> {
  const gzip = encoding === 'gzip' || (encoding === 'identity' && isGzip(body));
  if (!gzip && encoding === 'identity')
    return body.length > limit ? tooLarge(limit) : { ok: true, value: body };
  const attempts: Inflate[] = gzip ? [gunzip] : [inflate, inflateRaw]; // "deflate" is zlib-wrapped, or raw from some clients
  for (const run of attempts) {
    try {
      return { ok: true, value: await run(body, { maxOutputLength: limit }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return tooLarge(limit);
    }
  }
  return {
    ok: false,
    code: 'TELLTALE_ERR_BAD_GZIP',
    reason: gzip ? 'bad_gzip' : 'bad_deflate',
    message: `body is not valid ${gzip ? 'gzip' : 'deflate'}`,
  };
}
