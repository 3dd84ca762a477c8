import { AsyncLocalStorage } from 'node:async_hooks';
import { activeOtelIds } from './otel.js';
import { headerId, newSpanId, newTraceIds, parseTraceparent } from './trace-context.js';

/** What a request carries through its async calls: ids only, never the URL, headers or body. */
export interface RequestContext {
  trace: string;
  span: string;
  session?: string;
  user?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** The current request's context, if a Telltale middleware is running this call. */
export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}

/** Runs `fn` with `context` as the current request context (the middleware does this per request). */
export function runWithContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

/**
 * The context for an incoming request: the trace of its `traceparent` with a new span id for this
 * hop, or a new trace; session and user from `x-telltale-session` / `x-telltale-user` when they are
 * plain ids. An active OpenTelemetry span's ids win over both.
 */
export function contextFromHeaders(headers: Record<string, unknown>): RequestContext {
  const otel = activeOtelIds();
  const incoming = parseTraceparent(headers.traceparent);
  const ids = otel ?? (incoming ? { trace: incoming.trace, span: newSpanId() } : newTraceIds());
  const context: RequestContext = { trace: ids.trace, span: ids.span };
  const session = headerId(headers['x-telltale-session']);
  const user = headerId(headers['x-telltale-user']);
  if (session !== undefined) context.session = session;
  if (user !== undefined) context.user = user;
  return context;
}

/**
 * A pino `mixin`: `pino({ mixin: telltaleMixin }, transport)`. Adds `trace`, `span`, `session` and
 * `user` to every line written inside a request; an active OpenTelemetry span's ids win, so a line
 * written inside a child span carries that span.
 */
export function telltaleMixin(): Partial<RequestContext> {
  const context = storage.getStore();
  const otel = activeOtelIds();
  if (context === undefined) return otel ?? {};
  return otel ? { ...context, ...otel } : context;
}

/**
 * Headers that carry the current request's trace on to another service the app calls:
 * `fetch(url, { headers: { ...traceHeaders() } })`. `traceparent` names this hop's span as the
 * parent (flags `01`, sampled), and `x-telltale-session` / `x-telltale-user` go along when the
 * request had them, so the other service's middleware puts its lines under the same trace. Empty
 * outside a request; an active OpenTelemetry span's ids win, as on log lines (an app on OpenTelemetry
 * usually has its HTTP instrumentation send `traceparent` already).
 */
export function traceHeaders(): Record<string, string> {
  const { trace, span, session, user } = telltaleMixin();
  if (trace === undefined || span === undefined) return {};
  const headers: Record<string, string> = { traceparent: `00-${trace}-${span}-01` };
  if (session !== undefined) headers['x-telltale-session'] = session;
  if (user !== undefined) headers['x-telltale-user'] = user;
  return headers;
}
