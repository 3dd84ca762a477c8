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
