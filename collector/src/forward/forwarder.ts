import { dataLayout, kafkaTopics, type KafkaSettings } from '@telltale/protocol';
import type { SpoolWriter } from '@telltale/spool';
import { createForwardDeadLetter } from './dead-letter.js';
import { createForwardClient, createForwardProducer, type KafkaLogSink } from './kafka-client.js';
import { startLane, type Lane, type LaneStats } from './lane.js';
import { clientRecordKey, serverRecordKey } from './record-key.js';

export interface KafkaForwarderOptions {
  kafka: KafkaSettings;
  /**
   * The collector's data dir: checkpoints live in `<dataDir>/checkpoints/kafka-forward*.json`,
   * records Kafka refuses for good in `<dataDir>/dead-letter/kafka-forward/<day>/`.
   */
  dataDir: string;
  spool: SpoolWriter;
  serverLogSpool: SpoolWriter;
  log?: KafkaLogSink;
}

export interface KafkaForwarderStats {
  /** The producer is connected and neither lane's last produce failed. */
  connected: boolean;
  /** Records produced and committed since start, both spools. */
  forwarded: number;
  /** Records Kafka refused even alone, in `<dataDir>/dead-letter/kafka-forward/`, both spools. */
  deadLettered: number;
  lagRecords: number;
  lagSegments: number;
  lastError: string | undefined;
  client: LaneStats;
  server: LaneStats;
}

export interface KafkaForwarder {
  stats(): KafkaForwarderStats;
  /** Finishes the produce in flight in each lane, commits it, disconnects. The rest goes at the next start. */
  close(): Promise<void>;
}

export function forwardCheckpointFile(dataDir: string, spool: 'client' | 'server'): string {
  return dataLayout(dataDir).forwardCheckpoint(spool);
}

/**
 * Tails the collector's client and server-log spools into Kafka (one lane each, one producer).
 * Requests are acknowledged after the local fsync as without Kafka; this runs behind them, so a
 * Kafka outage never fails a request, it only lets the spools grow up to their disk cap.
 */
export async function startKafkaForwarder(options: KafkaForwarderOptions): Promise<KafkaForwarder> {
  const topics = kafkaTopics(options.kafka.topicPrefix);
  const client = createForwardClient(options.kafka, options.log);
  const producer = createForwardProducer(client, options.kafka);
  let connected = false;
  let connecting: Promise<void> | undefined;
  producer.on(producer.events.DISCONNECT, () => {
    connected = false;
  });
  // Shared by both lanes: one connect at a time; a failed one is retried by the next send.
  const connect = (): Promise<void> => {
    if (connected) return Promise.resolve();
    connecting ??= producer
      .connect()
      .then(() => {
        connected = true;
      })
      .finally(() => {
        connecting = undefined;
      });
    return connecting;
  };

  const lanes: Lane[] = [];
  try {
    lanes.push(
      await startLane({
        spool: options.spool,
        topic: topics.client,
        checkpointFile: forwardCheckpointFile(options.dataDir, 'client'),
        producer,
        connect,
        keyOf: clientRecordKey,
        deadLetter: createForwardDeadLetter(options.dataDir, 'client', topics.client),
      }),
      await startLane({
        spool: options.serverLogSpool,
        topic: topics.server,
        checkpointFile: forwardCheckpointFile(options.dataDir, 'server'),
        producer,
        connect,
        keyOf: serverRecordKey,
        deadLetter: createForwardDeadLetter(options.dataDir, 'server', topics.server),
      }),
    );
  } catch (error) {
    await Promise.all(lanes.map((lane) => lane.stop()));
    throw error;
  }
  // Connect now rather than at the first record, so /metrics tells at once whether Kafka is reachable.
  void connect().catch(() => undefined);
  const [clientLane, serverLane] = lanes as [Lane, Lane];

  let closing: Promise<void> | undefined;
  return {
    stats() {
      const c = clientLane.stats();
      const s = serverLane.stats();
      return {
        connected: connected && !c.failing && !s.failing,
        forwarded: c.forwarded + s.forwarded,
        deadLettered: c.deadLettered + s.deadLettered,
        lagRecords: c.lagRecords + s.lagRecords,
        lagSegments: c.lagSegments + s.lagSegments,
        lastError: c.lastError ?? s.lastError,
        client: c,
        server: s,
      };
    },
    close: () =>
      (closing ??= (async () => {
        await Promise.all(lanes.map((lane) => lane.stop()));
        await connecting?.catch(() => undefined);
        await producer.disconnect().catch(() => undefined);
      })()),
  };
}
