// Request context and middleware: what an app imports. The pino transport is `@telltale/node/pino`.
export {
  telltaleMixin,
  currentContext,
  runWithContext,
  contextFromHeaders,
  type RequestContext,
} from './context.js';
export { parseTraceparent, newTraceIds, type TraceIds } from './trace-context.js';
export { loadOpenTelemetry } from './otel.js';
export { telltaleFastify, type TelltaleFastifyOptions } from './fastify.js';
export { telltaleExpress, type TelltaleExpressOptions } from './express.js';
export type { RequestLogger, RequestLineOptions } from './request-line.js';
// The same scrub rules the dispatchers apply, for an app that wants them on its own fields too.
export { scrubText, scrubStack, scrubUrl, scrubAttributes } from '@telltale/protocol';
