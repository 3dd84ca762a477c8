import { invalidConfig } from './settings.js';

/**
 * The Kafka contract between collectors (producers) and dispatchers (a consumer group): topic
 * names, the record key, and the settings every process reads from the same variables. No Kafka
 * client here: the protocol package stays dependency-free.
 */
export interface KafkaSettings {
  /** `host:port` of the bootstrap brokers (`TELLTALE_KAFKA_BROKERS`, comma-separated). */
  brokers: string[];
  /** kafkajs clientId (`TELLTALE_KAFKA_CLIENT_ID`, default `telltale`). */
  clientId: string;
  /** Prefix of every topic and consumer group (`TELLTALE_KAFKA_TOPIC_PREFIX`, default `telltale.`). */
  topicPrefix: string;
  /**
   * The idempotent producer (`TELLTALE_KAFKA_IDEMPOTENT`, default 1). Off only against brokers
   * that cannot initialise it (librdkafka's mock cluster in the tests); retried sends then rely
   * on the stores' event-id dedupe.
   */
  idempotent: boolean;
}

export interface KafkaTopics {
  /** Client batches: one SpoolEnvelope per record, exactly the bytes of the spool record. */
  client: string;
  /** Server logs: one ServerLogEnvelope per record. */
  server: string;
  /** Enriched events that may raise an alert, keyed by what they would alert about (see docs/alerts.md). */
  alertCandidates: string;
  /** The alert log itself (decisions and send states), keyed by alert key; compacted. */
  alertLog: string;
}

export function kafkaTopics(prefix: string): KafkaTopics {
  return {
    client: `${prefix}client`,
    server: `${prefix}server`,
    alertCandidates: `${prefix}alert-candidates`,
    alertLog: `${prefix}alert-log`,
  };
}

/**
 * The record key for client batches and server logs: one app's session (or one service's
 * request stream) stays on one partition, so its records are consumed in order.
 */
export function kafkaRecordKey(app: string, stream: string | undefined): string {
  return stream === undefined || stream === '' ? app : `${app}/${stream}`;
}

const BROKER = /^[A-Za-z0-9.-]+:\d{1,5}$/;
const PREFIX = /^[A-Za-z0-9._-]{0,100}$/;

function invalid(field: string, value: string, fix: string): never {
  return invalidConfig(field, `"${value}" ${fix}`);
}

/** Kafka settings from the environment; undefined when `TELLTALE_KAFKA_BROKERS` is unset or empty (Kafka off). */
export function kafkaSettingsFromEnv(env: NodeJS.ProcessEnv): KafkaSettings | undefined {
  const raw = env.TELLTALE_KAFKA_BROKERS?.trim();
  if (raw === undefined || raw === '') return undefined;
  const brokers = raw
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
  for (const broker of brokers)
    if (!BROKER.test(broker))
      invalid('TELLTALE_KAFKA_BROKERS', broker, 'is not host:port (e.g. kafka:9092,kafka-2:9092)');
  const clientId = env.TELLTALE_KAFKA_CLIENT_ID?.trim() || 'telltale';
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(clientId))
    invalid('TELLTALE_KAFKA_CLIENT_ID', clientId, 'must be 1-100 of A-Z, a-z, 0-9, ".", "_" or "-"');
  const topicPrefix = env.TELLTALE_KAFKA_TOPIC_PREFIX ?? 'telltale.';
  if (!PREFIX.test(topicPrefix))
    invalid(
      'TELLTALE_KAFKA_TOPIC_PREFIX',
      topicPrefix,
      'must be up to 100 of A-Z, a-z, 0-9, ".", "_" or "-"',
    );
  const rawIdempotent = env.TELLTALE_KAFKA_IDEMPOTENT?.trim() || '1';
  if (rawIdempotent !== '0' && rawIdempotent !== '1')
    invalid('TELLTALE_KAFKA_IDEMPOTENT', rawIdempotent, 'must be 1 (default) or 0');
  return { brokers, clientId, topicPrefix, idempotent: rawIdempotent === '1' };
}
