/**
 * The collector's public entry: what the CLI, the benchmarks and the tests use, and the types of
 * those functions' options. Everything else is internal to its module.
 */
export { build, collectorRoutes, type CollectorDeps, type CollectorLogger } from './app.js';
export {
  STORAGE_RETRY_AFTER_SECONDS,
  FULL_RETRY_AFTER_SECONDS,
  MAX_USER_AGENT_LENGTH,
  BATCH_JOURNAL_FILE,
} from './routes.js';
export {
  resolveCollectorConfig,
  type CollectorConfig,
  type CollectorOptions,
  type CollectorApp,
  type CollectorAppOptions,
  DEFAULT_QUOTAS,
  COLLECTOR_SETTINGS,
} from './config.js';
export { createQuotaLedger, type QuotaLedger } from './quotas.js';
export {
  resolveApps,
  createKeyRegistry,
  fingerprintKey,
  normalizeOrigin,
  DSN_KEY_PATTERN,
  defaultProjectId,
  APP_QUOTA_NAMES,
  APP_QUOTA_FIELDS,
  type AppQuotas,
  type KeyRegistry,
} from './apps.js';
export {
  appsFilePath,
  readAppsFile,
  writeAppsFile,
  parseAppsFile,
  loadAppsFile,
  type AppsFile,
} from './apps-file.js';
export { watchAppsFile } from './apps-watch.js';
export { createCollectorMetrics, type CollectorMetrics } from './metrics.js';
export { createBatchIndex } from './batch-index.js';
export { loadBatchJournal, openBatchJournal, type BatchJournal } from './batch-journal.js';
export { MAX_FUTURE_MS, MAX_PAST_MS } from './timestamps.js';
export { MAX_LOG_LINES } from './server-logs.js';
export { createRateLimiter } from './rate-limit.js';
export { openAttachmentStore } from './attachment-store.js';
export { openCollectorStores, collectorPaths, type CollectorStores } from './storage.js';
export { sentryDsn } from './sentry/dsn.js';
export { type KafkaForwarder } from './forward/forwarder.js';
export { startCollectorServer, type CollectorServerOptions, type RunningCollector } from './server.js';
export {
  closeListener,
  connectionDrain,
  REQUEST_GRACE_MS,
  type ConnectionDrain,
} from './connection-drain.js';
export { clientErrorHandler } from './http-hardening.js';
