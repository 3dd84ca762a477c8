// What an app imports: the pino destination, request context and middleware. The older pino
// transport (a worker-thread target) is `@telltale/node/pino`.
export { telltaleDestination, type TelltaleDestination } from './destination.js';
export { STATS_EVENT, type TransportStats } from './shipping.js';
export type { TransportOptions } from './transport-config.js';
export {
  telltaleMixin,
  currentContext,
  runWithContext,
  contextFromHeaders,
  traceHeaders,
  type RequestContext,
} from './context.js';
export { parseTraceparent, newTraceIds, type TraceIds } from './trace-context.js';
export { loadOpenTelemetry } from './otel.js';
export { telltaleFastify, type TelltaleFastifyOptions } from './fastify.js';
export { telltaleExpress, type TelltaleExpressOptions } from './express.js';
export type { RequestLogger, RequestLineOptions } from './request-line.js';
// The same scrub rules the dispatchers apply, for an app that wants them on its own fields too.
export { scrubText, scrubStack, scrubUrl, scrubAttributes } from '@telltale/protocol';
