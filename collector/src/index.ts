export {
  build,
  collectorRoutes,
  type CollectorDeps,
  type CollectorLogger,
  type CollectorRoutesOptions,
} from './app.js';
export {
  STORAGE_RETRY_AFTER_SECONDS,
  FULL_RETRY_AFTER_SECONDS,
  MAX_USER_AGENT_LENGTH,
  BATCH_JOURNAL_FILE,
} from './routes.js';
export {
  resolveCollectorConfig,
  DEFAULT_DISK_CAP_BYTES,
  DEFAULT_MAX_ATTACHMENT_BYTES,
  type CollectorConfig,
  type CollectorOptions,
  type CollectorApp,
  type CollectorAppOptions,
  type CollectorLimits,
  type CollectorRateLimits,
  type CollectorTimeouts,
  type CollectorConnections,
  type CollectorStorage,
  type CollectorQuotas,
  type CollectorRetention,
  type RateLimit,
  type TrustProxy,
  DEFAULT_QUOTAS,
  DEFAULT_SPOOL_APP_SHARE,
  COLLECTOR_SETTINGS,
} from './config.js';
export { resolveTrustProxy, trustedPeerMatcher, trustHops, type HopTrust } from './trust-proxy.js';
export {
  createQuotaLedger,
  QuotaRefused,
  MAX_SESSIONS_TRACKED,
  type QuotaLedger,
  type QuotaRefusal,
} from './quotas.js';
export { openSpoolShares, envelopeHead, type SpoolShares } from './spool-shares.js';
export {
  resolveApps,
  createKeyRegistry,
  fingerprintKey,
  normalizeOrigin,
  KEY_PATTERN,
  DSN_KEY_PATTERN,
  defaultProjectId,
  APP_QUOTA_NAMES,
  type AppQuotas,
  type KeyRegistry,
  type KeyLookup,
  type KeyKind,
} from './apps.js';
export {
  appsFilePath,
  readAppsFile,
  writeAppsFile,
  parseAppsFile,
  appsFileVersion,
  loadAppsFile,
  DEFAULT_CONFIG_FILE,
  type AppsFile,
} from './apps-file.js';
export { watchAppsFile, APPS_FILE_POLL_MS, type AppsWatch } from './apps-watch.js';
export {
  createCollectorMetrics,
  renderMetrics,
  type CollectorMetrics,
  type CollectorMetricsSnapshot,
  type CollectorGauges,
  type IngestRoute,
} from './metrics.js';
export {
  buildBatchIndex,
  createBatchIndex,
  createIdempotentStore,
  IDEMPOTENCY_WINDOW_MS,
  IDEMPOTENCY_MAX_ENTRIES,
  IDEMPOTENCY_MAX_BYTES,
  type BatchIndex,
  type BatchIndexEntry,
  type BatchIndexOptions,
  type BatchIndexBuild,
} from './batch-index.js';
export {
  loadBatchJournal,
  openBatchJournal,
  JOURNAL_FLUSH_MS,
  JOURNAL_MAX_BYTES,
  type BatchJournal,
} from './batch-journal.js';
export {
  decodeBody,
  decodeText,
  parseJson,
  parseContentEncoding,
  measureGzip,
  type DecodeResult,
  type BodyEncoding,
} from './decode.js';
export { checkJsonShape, MAX_NESTING, FORBIDDEN_KEYS, type ShapeProblem } from './json-guard.js';
export {
  normalizeBatchTimes,
  normalizeLogTime,
  MAX_FUTURE_MS,
  MAX_PAST_MS,
  CLOCK_DRIFT_THRESHOLD_MS,
} from './timestamps.js';
export { parseServerLogs, contentId, MAX_LOG_LINES } from './server-logs.js';
export { createRateLimiter, RATE_LIMITER_MAX_BUCKETS, type RateLimiter } from './rate-limit.js';
export {
  openAttachmentStore,
  ATTACHMENT_ID,
  RETENTION_CHECK_MS,
  type AttachmentStore,
  type AttachmentMeta,
} from './attachment-store.js';
export { hardenHttpServer, openConnections } from './http-hardening.js';
export { openCollectorStores, collectorPaths, segmentBytesFor, type CollectorStores } from './storage.js';
export { notReadyReasons } from './ops-routes.js';
export { sentryDsn } from './sentry/dsn.js';
export { SENTRY_ENVELOPE_URL, SENTRY_STORE_URL } from './sentry/route.js';
export {
  startKafkaForwarder,
  forwardCheckpointFile,
  type KafkaForwarder,
  type KafkaForwarderOptions,
  type KafkaForwarderStats,
} from './forward/forwarder.js';
export {
  FORWARD_BATCH_RECORDS,
  FORWARD_BATCH_BYTES,
  FORWARD_POLL_MS,
  FORWARD_BACKOFF,
  type LaneStats as KafkaForwardLaneStats,
} from './forward/lane.js';
export { FORWARD_REQUEST_TIMEOUT_MS, FORWARD_CONNECT_TIMEOUT_MS } from './forward/kafka-client.js';
export {
  startCollectorServer,
  resolveCollectorKafka,
  type CollectorServerOptions,
  type RunningCollector,
} from './server.js';
