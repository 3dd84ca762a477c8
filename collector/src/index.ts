export {
  build,
  collectorRoutes,
  type CollectorDeps,
  type CollectorLogger,
  type CollectorRoutesOptions,
} from './app.js';
export { STORAGE_RETRY_AFTER_SECONDS, MAX_USER_AGENT_LENGTH } from './routes.js';
export {
  resolveCollectorConfig,
  type CollectorConfig,
  type CollectorOptions,
  type CollectorApp,
  type CollectorLimits,
} from './config.js';
export {
  createCollectorMetrics,
  renderPrometheus,
  type CollectorMetrics,
  type CollectorMetricsSnapshot,
} from './metrics.js';
export {
  buildBatchIndex,
  createBatchIndex,
  createIdempotentStore,
  IDEMPOTENCY_WINDOW_MS,
  IDEMPOTENCY_MAX_ENTRIES,
  type BatchIndex,
  type BatchIndexOptions,
  type BatchIndexBuild,
} from './batch-index.js';
export { decodeBody, parseContentEncoding, type DecodeResult, type BodyEncoding } from './decode.js';
export { startCollectorServer, type CollectorServerOptions, type RunningCollector } from './server.js';
