// The fflate fallback for browsers without CompressionStream: built to its own file (dist/gzip.js)
// and imported on first use, so the main bundle does not carry it.
import { gzipSync, strToU8 } from 'fflate';

export const gzip = (json: string): Uint8Array<ArrayBuffer> =>
  gzipSync(strToU8(json)) as Uint8Array<ArrayBuffer>;
