/**
 * The dispatchers' public entry: what the CLI, the benchmarks and the tests use. Everything else
 * is internal to the package (import it from its module inside dispatchers/src only).
 */
export { startDispatchers, checkpointFile, type Dispatchers } from './dispatcher.js';
export {
  resolveDispatcherConfig,
  DISPATCHER_SETTINGS,
  type DispatcherConfig,
  type DispatcherOptions,
} from './config.js';
export type { ExportResult, Sink } from './sinks/types.js';
export { SINK_SETTINGS, type ClickHouseSettings } from './sinks/settings.js';
export { duckDbFile } from './sinks/registry.js';
export { guardSink } from './sinks/guard.js';
export { decodeRecord, type SpoolContent, type RecordDecodeResult } from './sinks/handler.js';
export { startKafkaAlertReader } from './alerts/kafka/index.js';
export { createDecodePool, type DecodePool } from './decode-pool.js';
export { scrubRawPayload } from './scrub-raw.js';
export { createClickHouseSink, createClickHouseClient } from './sinks/clickhouse/sink.js';
export { migrateClickHouse } from './sinks/clickhouse/schema.js';
export { eventRow as clickHouseEventRow } from './sinks/clickhouse/rows.js';
export {
  eventToRow as logAnalyticsEventRow,
  serverLogToRow as logAnalyticsServerLogRow,
  chunkRows,
} from './sinks/log-analytics/mapping.js';
export { createBlobArchiveSink } from './sinks/blob-archive/sink.js';
export { archiveBlobName } from './sinks/blob-archive/names.js';
export { containerFromConnectionString } from './sinks/blob-archive/container.js';
export { serverLogRows } from './sources/server-log/decode.js';
export { decodeBlob } from './sources/blob/decode.js';
export { ensureDuckDbSchema } from './sinks/duckdb/schema.js';
export { createDuckDbSink, insertEvents } from './sinks/duckdb/sink.js';
export { createSpoolConsumer, type SpoolConsumer } from './sources/spool/source.js';
export type { HandleResult, SourceRecord } from './sources/types.js';
export { decodeEnvelope } from './decode.js';
export {
  createDeadLetterWriter,
  listDeadLetterConsumers,
  readDeadLetters,
  dropDeadLetterDaysBefore,
  type DeadLetterEntry,
} from './dead-letter.js';
export { enrichEnvelope, type EnrichedEvent } from './enrich/enrich.js';
export { fingerprintError, normaliseFilePath, normaliseMessage } from './enrich/fingerprint.js';
export { parseStack } from './enrich/stack.js';
export { parseUserAgent } from './enrich/user-agent.js';
export { scrubText, scrubStack, scrubUrl, scrubAttributes } from './enrich/scrub.js';
export { alertLogFile, type AlertSummary } from './alerts/alert-log.js';
export { openErrorIntelligence, type ErrorIntelligence } from './alerts/issues.js';
export { openGroupStates, isRegression, type GroupState } from './alerts/group-state.js';
export { openMuteRules, matchGlob, validateMuteRule, ruleMatches, MUTE_LIMITS } from './alerts/mute-rules.js';
export { createSymbolicator, type Symbolicator } from './symbolicate/symbolicator.js';
export { artifactsRoot } from './symbolicate/artifact-store.js';
export { createRegroup } from './symbolicate/regroup.js';
export { functionScopes } from './symbolicate/function-names.js';
export { backoffDelay, SINK_BACKOFF, createCircuitBreaker, retryUntil, parseRetryAfter } from './retry.js';
export {
  openReplaySink,
  spoolsOf,
  readSpool,
  readArchive,
  shipItems,
  recordHeader,
  type ReplayItem,
  type ShipOutcome,
} from './sinks/replay.js';
export { BREAKER_STATE_VALUE, createDispatcherMetrics } from './metrics.js';
export { replayDeadLetters, summarizeDeadLetters } from './dead-letter-replay.js';
export { createPipelineMonitor, type PipelineMonitor } from './pipeline-health.js';
