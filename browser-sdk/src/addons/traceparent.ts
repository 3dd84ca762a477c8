import type { Ctx } from '../core/client.js';
import { randomHex } from '../core/ids.js';

/**
 * Adds a W3C `traceparent` (the session's trace id, a new span id, sampled) to the app's own fetch
 * and XHR calls to the origins named in `init({ propagateTraceparent })`, so its server logs carry the
 * trace id of the client's events. Installed once when the add-on loads; it asks the running client
 * on each call, so it may load before `init()`. Other origins are left alone: a header there would
 * cost a CORS preflight.
 */
export function patchTraceparent(ctx: () => Ctx | undefined): void {
  const header = (url: unknown): string | undefined => {
    try {
      const x = ctx();
      if (x?.o.propagateTraceparent?.includes(new URL(`${url}`, location.href).origin))
        return `00-${x.session}-${randomHex(8)}-01`;
    } catch {
      // not a URL we can read, or no client: leave the call alone
    }
  };
  const f = fetch;
  window.fetch = (input, init) => {
    const h = header((input as Request).url || input);
    if (h) {
      const headers = new Headers(init?.headers || (input as Request).headers);
      headers.set('traceparent', h);
      init = { ...init, headers };
    }
    return f(input, init);
  };
  const x = XMLHttpRequest.prototype;
  const open = x.open;
  const send = x.send;
  const urls = new WeakMap<XMLHttpRequest, unknown>();
  x.open = function (this: XMLHttpRequest, ...a: unknown[]) {
    urls.set(this, a[1]);
    return (open as (...a: unknown[]) => void).apply(this, a);
  };
  x.send = function (this: XMLHttpRequest, body) {
    const h = header(urls.get(this));
    if (h) this.setRequestHeader('traceparent', h);
    return send.call(this, body);
  };
}
