import kafkajs, { type Kafka, type Producer } from 'kafkajs';
import type { KafkaSettings } from '@telltale/protocol';

/** One produce request (and each of kafkajs's own attempts) waits at most this long for the brokers. */
export const FORWARD_REQUEST_TIMEOUT_MS = 10_000;
/** Connecting to a bootstrap broker gives up after this long; the forwarder then backs off and tries again. */
export const FORWARD_CONNECT_TIMEOUT_MS = 5_000;

/** What kafkajs reports (broker gone, request timed out), handed to the collector's log. */
export type KafkaLogSink = (level: 'error' | 'warn', message: string) => void;

/**
 * The forwarder's Kafka client. kafkajs retries only briefly by itself: the forwarder's own loop
 * keeps the records and backs off, so a long outage is one retry loop, not two nested ones.
 */
export function createForwardClient(settings: KafkaSettings, log?: KafkaLogSink): Kafka {
  return new kafkajs.Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    connectionTimeout: FORWARD_CONNECT_TIMEOUT_MS,
    requestTimeout: FORWARD_REQUEST_TIMEOUT_MS,
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2_000 },
    logLevel: log === undefined ? kafkajs.logLevel.NOTHING : kafkajs.logLevel.WARN,
    logCreator: () => (entry) => {
      if (log === undefined) return;
      const level = entry.level === kafkajs.logLevel.ERROR ? 'error' : 'warn';
      log(level, `kafka ${entry.namespace}: ${entry.log.message}`);
    },
  });
}

export function createForwardProducer(kafka: Kafka, settings: KafkaSettings): Producer {
  return kafka.producer({
    // Java-compatible murmur2 on the key: one app's session lands on the same partition as with any other client.
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
    idempotent: settings.idempotent,
    // The idempotent producer needs at most one request in flight to keep its ordering guarantee.
    ...(settings.idempotent ? { maxInFlightRequests: 1 } : {}),
    allowAutoTopicCreation: true,
  });
}
