export {
  startDispatchers,
  checkpointFile,
  type Dispatchers,
  type DispatcherDeps,
  type DispatcherStats,
  type ConsumerReport,
} from './dispatcher.js';
export {
  resolveDispatcherConfig,
  DISPATCHER_DEFAULTS,
  type DispatcherConfig,
  type DispatcherOptions,
} from './config.js';
export type { ExportResult, Sink } from './sinks/types.js';
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
} from './sources/types.js';
export { decodeEnvelope, type DecodeResult, type DecodeFailure } from './decode.js';
export {
  createDeadLetterWriter,
  listDeadLetters,
  type DeadLetterReason,
  type DeadLetterWriter,
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
export type { AlerterStats } from './alerts/alerter.js';
export { backoffDelay, SINK_BACKOFF, MAIL_BACKOFF, type BackoffPolicy } from './retry.js';
