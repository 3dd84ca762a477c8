import type { Answer } from '../../core/types.js';

/** Browsers refuse keepalive requests whose bodies add up to more than this. */
const KEEPALIVE_LIMIT = 65536;

/**
 * POSTs a batch as `text/plain` (no CORS preflight), gzip-compressed when CompressionStream exists.
 * Page-hide sends go uncompressed: CompressionStream is asynchronous and a page being unloaded
 * may never get to its result (a synchronous gzip, e.g. fflate, is a later issue).
 */
export async function sendBatch(url: string, json: string, keepalive: boolean): Promise<Answer> {
  let body: Blob | string = json;
  if (!keepalive && typeof CompressionStream == 'function') {
    body = await new Response(new Blob([json]).stream().pipeThrough(new CompressionStream('gzip'))).blob();
  }
  const r = await fetch(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'text/plain' },
    // The page URL with its query string must not travel in a Referer header either.
    referrerPolicy: 'no-referrer',
    keepalive: keepalive && new Blob([json]).size < KEEPALIVE_LIMIT,
  });
  return { status: r.status, retryAfter: r.headers.get('retry-after') };
}
