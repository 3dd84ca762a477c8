import type { Answer } from '../../core/types.js';
import type { gzip } from './gzip.js';

// A variable, not a literal: bundlers leave the import alone, and the browser resolves it next to this script.
const GZIP = './gzip.js';

/**
 * POSTs without a CORS preflight, gzip-compressed: CompressionStream where the browser has
 * it, else fflate from a separate file (dist/gzip.js) loaded on first use, so it costs nothing to the
 * browsers that do not need it; plain JSON if that fails. Page-hide sends go uncompressed: compression
 * is asynchronous and a page being unloaded may never get to its result.
 */
export const sendBatch = (url: string, json: string, keepalive?: unknown): Promise<Answer> =>
  Promise.resolve(
    keepalive
      ? json
      : self.CompressionStream
        ? new Response(new Response(json).body!.pipeThrough(new CompressionStream('gzip'))).blob()
        : import(GZIP).then(
            (m: { gzip: typeof gzip }) => m.gzip(json),
            () => json,
          ),
  ).then((body) =>
    fetch(url, {
      method: 'POST',
      // No Content-Type header of our own: a string goes as text/plain, a gzip blob with none; both
      // keep the request "simple" (no preflight), and the collector reads raw bytes either way.
      body,
      // The page URL with its query string must not travel in a Referer header either.
      referrerPolicy: 'no-referrer',
      keepalive: keepalive as boolean,
    }),
  );
