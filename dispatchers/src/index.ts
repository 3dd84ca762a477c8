export {
  startDispatchers,
  checkpointFile,
  type Dispatchers,
  type DispatcherDeps,
  type DispatcherStats,
  type ConsumerReport,
  type SinkReport,
  type SpoolHooks,
} from './dispatcher.js';
export {
  resolveDispatcherConfig,
  DISPATCHER_DEFAULTS,
  DISPATCHER_SETTINGS,
  defaultDispatchThreads,
  type DispatcherConfig,
  type DispatcherOptions,
} from './config.js';
export type { ExportResult, Sink, RawBatch, ServerLogRow } from './sinks/types.js';
export {
  SINK_KINDS,
  SINK_DEFAULTS,
  SINK_SETTINGS,
  type SinkKind,
  type SinkSettings,
  type SinkOptions,
  type ClickHouseSettings,
  type LogAnalyticsSettings,
  type BlobArchiveSettings,
  type BlobSourceSettings,
  type RetentionSettings,
} from './sinks/settings.js';
export { createSink, retentionDays, duckDbFile, type SinkFactoryDeps } from './sinks/registry.js';
export { guardSink, type GuardedSink } from './sinks/guard.js';
export { buildSinkPipeline } from './sinks/pipeline.js';
export {
  createSinkHandler,
  createDecodeCache,
  decodeRecord,
  type SpoolContent,
  type DecodedRecord,
  type RecordDecodeResult,
  type SinkCounters,
  type SinkHandlerOptions,
  type DecodeCache,
  SPOOL_RECORD_IDENTITY,
  type RecordIdentity,
} from './sinks/handler.js';
export {
  createKafkaConsumers,
  KAFKA_RECORD_IDENTITY,
  type KafkaConsumers,
  type KafkaConsumersOptions,
  type KafkaConsumerReport,
  type KafkaDispatchStats,
} from './sources/kafka/consumers.js';
export {
  openKafkaSource,
  type KafkaPosition,
  type KafkaRecordSource,
  type KafkaSourceOptions,
  type KafkaSourceStats,
} from './sources/kafka/source.js';
export { KAFKA_CONSUMER_TIMINGS, type KafkaConsumerTimings } from './sources/kafka/timings.js';
// Alerts in the Kafka deployment (issue #12): the deciders, and the reader a dashboards process lists alerts with.
export {
  startKafkaAlerts,
  type KafkaAlerts,
  type KafkaAlertsOptions,
  startKafkaAlertReader,
  type KafkaAlertReader,
  openSharedAlertState,
  type SharedAlertState,
  subjectKey,
  DECIDER_TIMINGS,
  type DeciderTimings,
} from './alerts/kafka/index.js';
export {
  createDecodePool,
  type DecodePool,
  type DecodePoolOptions,
  type DecodePoolStats,
} from './decode-pool.js';
export {
  applyRetention,
  applyDeadLetterRetention,
  DEAD_LETTER_RETENTION,
  retentionCutoff,
  type RetentionReport,
} from './sinks/retention.js';
export { scrubRawPayload, type RawPayloadInfo, type ScrubbedPayload } from './scrub-raw.js';
export {
  createClickHouseSink,
  createClickHouseClient,
  classifyClickHouseError,
  CLICKHOUSE_BATCHING,
  type ClickHouseSinkOptions,
} from './sinks/clickhouse/sink.js';
export { migrateClickHouse, CLICKHOUSE_MIGRATIONS, CLICKHOUSE_TABLES } from './sinks/clickhouse/schema.js';
export {
  eventRow as clickHouseEventRow,
  serverLogRow as clickHouseServerLogRow,
} from './sinks/clickhouse/rows.js';
export {
  createLogAnalyticsSink,
  classifyUploadFailure,
  LA_MAX_BODY_BYTES,
  type LogAnalyticsSinkOptions,
} from './sinks/log-analytics/sink.js';
export {
  eventToRow as logAnalyticsEventRow,
  serverLogToRow as logAnalyticsServerLogRow,
  chunkRows,
} from './sinks/log-analytics/mapping.js';
export { createBlobArchiveSink, type BlobArchiveSinkOptions } from './sinks/blob-archive/sink.js';
export { archiveBlobName, archiveBlobDay } from './sinks/blob-archive/names.js';
export { containerFromConnectionString, classifyStorageError } from './sinks/blob-archive/container.js';
export { decodeServerLogEnvelope, serverLogRows, serverLogBatchId } from './sources/server-log/decode.js';
export { decodeBlob, MAX_BLOB_BYTES, type BlobInfo, type BlobDecodeResult } from './sources/blob/decode.js';
export { openBlobLedger, type BlobLedger } from './sources/blob/ledger.js';
export {
  startBlobIngester,
  type BlobIngester,
  type BlobIngesterStats,
  type BlobIngesterOptions,
} from './sources/blob/ingester.js';
export { ensureDuckDbSchema, DUCKDB_SCHEMA_VERSION } from './sinks/duckdb/schema.js';
export { createDuckDbSink, insertEvents } from './sinks/duckdb/sink.js';
export { createConsumer, type ConsumerOptions } from './sources/consumer.js';
export {
  createSpoolConsumer,
  openSpoolSource,
  type SpoolConsumer,
  type SpoolConsumerOptions,
} from './sources/spool/source.js';
export type {
  Consumer,
  ConsumerStats,
  HandleResult,
  RecordHandler,
  RecordSource,
  SourceRecord,
  LingerOptions,
} from './sources/types.js';
export { decodeEnvelope, type DecodeResult, type DecodeFailure } from './decode.js';
export {
  createDeadLetterWriter,
  listDeadLetters,
  listDeadLetterConsumers,
  readDeadLetters,
  markReplayed,
  dropDeadLetterDaysBefore,
  type DeadLetterReason,
  type DeadLetterWriter,
  type DeadLetterEntry,
  type DeadLetterOrigin,
} from './dead-letter.js';
export { enrichEnvelope, type EnrichedEvent } from './enrich/enrich.js';
export {
  fingerprintError,
  normaliseFilePath,
  normaliseMessage,
  type FingerprintInput,
} from './enrich/fingerprint.js';
export { parseStack, formatFrame, isInAppFile, type StackFrame } from './enrich/stack.js';
export { parseUserAgent, type UserAgentInfo } from './enrich/user-agent.js';
export { scrubText, scrubStack, scrubUrl, scrubAttributes } from './enrich/scrub.js';
export {
  alertLogFile,
  type AlertSummary,
  type AlertKind,
  type AlertStatus,
  type AlertTransport,
} from './alerts/alert-log.js';
export { ALERT_THROTTLE_DEFAULTS, type AlerterStats } from './alerts/alerter.js';
// Alert webhooks (issue #15): signed JSON, Slack and Teams, fed by the alert log.
export {
  alertWebhookBody,
  readAppWebhooks,
  signatureHeader,
  slackPayload,
  teamsPayload,
  type AlertWebhookBody,
  type AppWebhooks,
  type WebhookStats,
} from './alerts/webhooks/index.js';
export type { WebhookDelivery } from './alerts/alert-log.js';
// Error intelligence (issue #6): source maps, grouping on original code, group lifecycle, mute rules.
export { ALERT_DEFAULTS, type AlertSettings, type AlertOptions } from './alerts/settings.js';
export { openErrorIntelligence, type IssueServices, type ErrorIntelligence } from './alerts/issues.js';
export {
  openGroupStates,
  groupStatesFile,
  isRegression,
  type GroupState,
  type GroupStatus,
  type GroupStates,
  type ResolveOptions,
} from './alerts/group-state.js';
export {
  openMuteRules,
  muteRulesFile,
  matchGlob,
  validateMuteRule,
  ruleMatches,
  MUTE_FIELDS,
  MUTE_LIMITS,
  type MuteRule,
  type MuteRuleInput,
  type MuteRuleAdded,
  type MuteRules,
} from './alerts/mute-rules.js';
export {
  alertKeys,
  composeAlert,
  composeDigest,
  type AlertMessage,
  type AlertContext,
} from './alerts/message.js';
export {
  createSymbolicator,
  cleanSourcePath,
  type Symbolicator,
  type SymbolicatorOptions,
  type SymbolicatedFrame,
  type SymbolicationResult,
  type SourceMapProblem,
  type SourceMapProblemKind,
} from './symbolicate/symbolicator.js';
export {
  artifactsRoot,
  artifactPath,
  artifactId,
  releaseDirName,
  openArtifactStore,
  findArtifact,
  type ArtifactMeta,
  type ArtifactStore,
} from './symbolicate/artifact-store.js';
export { createRegroup, regroupingSink, type Regroup } from './symbolicate/regroup.js';
export { functionScopes, enclosingFunction, type FunctionScope } from './symbolicate/function-names.js';
export {
  backoffDelay,
  SINK_BACKOFF,
  MAIL_BACKOFF,
  SINK_BREAKER,
  createCircuitBreaker,
  retryUntil,
  parseRetryAfter,
  type BackoffPolicy,
  type BreakerPolicy,
  type BreakerState,
  type BreakerStats,
  type CircuitBreaker,
  type AttemptResult,
} from './retry.js';
export {
  openReplaySink,
  isSinkKind,
  spoolsOf,
  readSpool,
  readArchive,
  shipItems,
  recordHeader,
  type ReplayTarget,
  type ReplayItem,
  type ShipOutcome,
} from './sinks/replay.js';
export * from './metrics.js';
export * from './dead-letter-replay.js';
