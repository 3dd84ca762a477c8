import type { Ctx } from '../core/client.js';
import { MAX_BREADCRUMBS } from '../core/client.js';
import { scrub } from '../core/scrub.js';

/**
 * Adds the two breadcrumbs that explain most client errors to the running client's ring: SPA
 * navigations (`history.pushState` / `replaceState`, `popstate`: the new path) and failed `fetch` /
 * XHR calls (method, URL path without query, status or `failed`, duration). Never a query string,
 * a body or a header; never the SDK's own uploads (anything under the collector's `/v1/`). Installed
 * once when the add-on loads; it asks the running client on each event, so it may load before `init()`.
 */
export function patchBreadcrumbs(ctx: () => Ctx | undefined): void {
  let last = location.pathname;
  const crumb = (category: string, message: string, level: 'info' | 'warn' | 'error') => {
    // the script-tag client answers a promise before init: it has no ring
    const ring = ctx()?.ring;
    if (ring && ring.push({ ts: Date.now(), level, category, message: scrub(message) }) > MAX_BREADCRUMBS)
      ring.shift();
  };
  const navigated = () => {
    // replaceState for a query or hash change is no navigation worth a crumb
    if (location.pathname != last) crumb('navigation', (last = location.pathname), 'info');
  };
  for (const k of ['pushState', 'replaceState'] as const) {
    const f = history[k];
    history[k] = function (this: History, ...a: Parameters<History['pushState']>) {
      f.apply(this, a);
      navigated();
    };
  }
  addEventListener('popstate', navigated);

  const done = (method: unknown, url: unknown, status: number, t0: number) => {
    try {
      const u = new URL(`${url}`, location.href);
      if (status && status < 400) return;
      // the SDK's own batches and bug reports: their failures are the SDK's business, not the app's
      if (u.href.startsWith(new URL(ctx()!.url(''), location.href).href.split('?')[0]!)) return;
      crumb(
        'http',
        `${`${method}`.toUpperCase()} ${u.origin == location.origin ? '' : u.origin}${u.pathname} ${status || 'failed'} ${Math.round(performance.now() - t0)}ms`,
        status && status < 500 ? 'warn' : 'error',
      );
    } catch {
      // no client yet, or not a URL we can read: no crumb
    }
  };
  const f = fetch;
  window.fetch = (input, init) => {
    const t0 = performance.now();
    const method = init?.method || (input as Request).method || 'GET';
    const url = (input as Request).url || input;
    return f(input, init).then(
      (r) => (done(method, url, r.status, t0), r),
      (e: unknown) => {
        done(method, url, 0, t0);
        throw e;
      },
    );
  };
  const x = XMLHttpRequest.prototype;
  const open = x.open;
  const send = x.send;
  const calls = new WeakMap<XMLHttpRequest, unknown[]>();
  x.open = function (this: XMLHttpRequest, ...a: unknown[]) {
    calls.set(this, a);
    return (open as (...a: unknown[]) => void).apply(this, a);
  };
  x.send = function (this: XMLHttpRequest, body) {
    const a = calls.get(this);
    const t0 = performance.now();
    if (a) this.addEventListener('loadend', () => done(a[0], a[1], this.status, t0));
    return send.call(this, body);
  };
}
