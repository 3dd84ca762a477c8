/**
 * The pipeline: sources (spool, Kafka, server logs, blob) → decode → enrich → sinks, with the dead
 * letters, retries and raw-payload scrubbing they share. What the composition root (../dispatcher.ts,
 * ../replay.ts, …), the other folders and the tests use; import it from here, never from a file inside.
 * Runtime dependency on ../intelligence/ only (the fingerprint computed in enrich).
 */
export {
  createDeadLetterWriter,
  type DeadLetterEntry,
  type DeadLetterWriter,
  dropDeadLetterDaysBefore,
  listDeadLetterConsumers,
  markReplayed,
  readDeadLetters,
} from './dead-letter.js';
export { createDecodePool, type DecodePool, type DecodePoolStats } from './decode-pool.js';
export { decodeEnvelope } from './decode.js';
export { type EnrichedEvent, enrichEnvelope } from './enrich/enrich.js';
export { scrubAttributes, scrubJsonValue, scrubStack, scrubText, scrubUrl } from './enrich/scrub.js';
export { parseUserAgent } from './enrich/user-agent.js';
export {
  backoffDelay,
  type BackoffPolicy,
  type BreakerState,
  type BreakerStats,
  createCircuitBreaker,
  MAIL_BACKOFF,
  parseRetryAfter,
  retryUntil,
  SINK_BACKOFF,
} from './retry.js';
export { scrubRawPayload } from './scrub-raw.js';
export { containerFromConnectionString } from './sinks/blob-archive/container.js';
export { archiveBlobDay, archiveBlobName } from './sinks/blob-archive/names.js';
export { createBlobArchiveSink } from './sinks/blob-archive/sink.js';
export { eventRow, eventsTabSeparated } from './sinks/clickhouse/rows.js';
export { WIRE_ENCODERS, type WireEncoder } from './sinks/encoders.js';
export { migrateClickHouse } from './sinks/clickhouse/schema.js';
export { createClickHouseClient, createClickHouseSink } from './sinks/clickhouse/sink.js';
export { ensureDuckDbSchema } from './sinks/duckdb/schema.js';
export { createDuckDbSink, insertEvents } from './sinks/duckdb/sink.js';
export { type GuardedSink, guardSink } from './sinks/guard.js';
export {
  createDecodeCache,
  createSinkHandler,
  type DecodeCache,
  type DecodedRecord,
  decodeRecord,
  type RecordDecodeResult,
  type SinkCounters,
  type SpoolContent,
} from './sinks/handler.js';
export { chunkRows, eventToRow, serverLogToRow } from './sinks/log-analytics/mapping.js';
export { createSink, duckDbFile, retentionDays, type SinkFactoryDeps } from './sinks/registry.js';
export {
  applyDeadLetterRetention,
  applyRetention,
  DEAD_LETTER_RETENTION,
  type RetentionReport,
} from './sinks/retention.js';
export {
  type ClickHouseSettings,
  resolveSinkSettings,
  SINK_KINDS,
  SINK_SETTINGS,
  type SinkKind,
  type SinkOptions,
  type SinkSettings,
} from './sinks/settings.js';
export type { EncodedEvents, ExportResult, RawBatch, Sink, WireFormat } from './sinks/types.js';
export { decodeBlob } from './sources/blob/decode.js';
export { type BlobIngester, type BlobIngesterStats, startBlobIngester } from './sources/blob/ingester.js';
export { type BlobLedger, openBlobLedger } from './sources/blob/ledger.js';
export { createConsumer } from './sources/consumer.js';
export {
  createKafkaConsumers,
  type KafkaConsumers,
  type KafkaDispatchStats,
} from './sources/kafka/consumers.js';
export { type ConsumerKeeper, keepConsumer, type MemberLife } from './sources/kafka/keeper.js';
export {
  type KafkaPosition,
  type KafkaRecordSource,
  type KafkaSourceOptions,
  openKafkaSource,
} from './sources/kafka/source.js';
export type { KafkaConsumerTimings } from './sources/kafka/timings.js';
export { serverLogRows } from './sources/server-log/decode.js';
export { createSpoolConsumer, type SpoolConsumer } from './sources/spool/source.js';
export type { Consumer, ConsumerStats, HandleResult, RecordHandler, SourceRecord } from './sources/types.js';
