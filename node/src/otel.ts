import type { TraceIds } from './trace-context.js';

/** The slice of `@opentelemetry/api` we use, typed here so the package builds without it. */
interface OtelApi {
  trace: {
    getActiveSpan(): { spanContext(): { traceId: string; spanId: string; traceFlags: number } } | undefined;
  };
}

let api: OtelApi | undefined;
let loading: Promise<boolean> | undefined;

const HEX32 = /^[\da-f]{32}$/;
const HEX16 = /^[\da-f]{16}$/;

/**
 * Loads `@opentelemetry/api` if the app has it (an optional peer); resolves false when it does not.
 * Started when this module loads, so by the first request it is usually done; the fastify plugin
 * awaits it at registration.
 */
export function loadOpenTelemetry(): Promise<boolean> {
  // A variable specifier keeps bundlers and tsc from requiring the package at build time.
  const name = '@opentelemetry/api';
  loading ??= import(name).then(
    (mod: OtelApi & { default?: OtelApi }) => {
      api = typeof mod.trace?.getActiveSpan === 'function' ? mod : mod.default;
      return api !== undefined;
    },
    () => false,
  );
  return loading;
}
void loadOpenTelemetry();

/** The active OpenTelemetry span's ids, when there is one with a valid context: they win over ours. */
export function activeOtelIds(): TraceIds | undefined {
  if (api === undefined) return undefined;
  let context: { traceId: string; spanId: string } | undefined;
  try {
    context = api.trace.getActiveSpan()?.spanContext();
  } catch {
    return undefined; // a broken tracer must never break the app's logging
  }
  if (context === undefined) return undefined;
  const { traceId, spanId } = context;
  if (!HEX32.test(traceId) || !HEX16.test(spanId) || /^0+$/.test(traceId) || /^0+$/.test(spanId))
    return undefined;
  return { trace: traceId, span: spanId };
}
