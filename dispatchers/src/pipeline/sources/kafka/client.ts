import kafkajs, { type Kafka } from 'kafkajs';
import type { KafkaSettings } from '@telltale/protocol';

/** Connecting to a bootstrap broker gives up after this long (kafkajs then retries by itself). */
export const KAFKA_CONNECT_TIMEOUT_MS = 5_000;
/** One request to a broker waits at most this long. */
export const KAFKA_REQUEST_TIMEOUT_MS = 30_000;

/**
 * The dispatchers' Kafka client. kafkajs's own log stays quiet: what matters (crashes, refused
 * commits, lag) is in the consumers' stats, /metrics and /readyz.
 */
export function createDispatchKafka(settings: KafkaSettings): Kafka {
  return new kafkajs.Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    connectionTimeout: KAFKA_CONNECT_TIMEOUT_MS,
    requestTimeout: KAFKA_REQUEST_TIMEOUT_MS,
    logLevel: kafkajs.logLevel.NOTHING,
  });
}
