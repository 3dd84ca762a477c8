import { kafkaTopics, type KafkaSettings } from '@telltale/protocol';
import { createDeadLetterWriter, type DeadLetterWriter } from '../../dead-letter.js';
import type { DecodePool } from '../../decode-pool.js';
import type { GuardedSink } from '../../sinks/guard.js';
import {
  createDecodeCache,
  createSinkHandler,
  type DecodeCache,
  type RecordIdentity,
  type SinkCounters,
  type SpoolContent,
} from '../../sinks/handler.js';
import type { Sink } from '../../sinks/types.js';
import { createConsumer } from '../consumer.js';
import type { Consumer, ConsumerStats } from '../types.js';
import { createDispatchKafka } from './client.js';
import {
  openKafkaSource,
  type KafkaPosition,
  type KafkaRecordSource,
  type KafkaSourceStats,
} from './source.js';
import type { KafkaConsumerTimings } from './timings.js';

/** Kafka records in the decode cache and in dead letters: `<topic>/<partition>@<offset>`. */
export const KAFKA_RECORD_IDENTITY: RecordIdentity<KafkaPosition> = Object.freeze({
  key: (position: KafkaPosition) => kafkaRecordName(position),
  // The dead-letter layout names foreign records by a string (like a Blob's name): the record's address.
  origin: (position: KafkaPosition) => ({ blob: `kafka:${kafkaRecordName(position)}` }),
});

function kafkaRecordName(position: KafkaPosition): string {
  const [partition, offset] = Object.entries(position.offsets)[0] ?? ['?', '?'];
  return `${position.topic}/${partition}@${offset}`;
}

export interface KafkaConsumerReport extends ConsumerStats<KafkaPosition> {
  /** The consumer group: `<prefix><consumer name>`. */
  groupId: string;
  events?: number;
  logs?: number;
  deadLettered: Record<string, number>;
  /** Undefined until the member joined. */
  source: KafkaSourceStats | undefined;
}

export interface KafkaDispatchStats {
  /** Every consumer is connected and none has a crash outstanding. */
  connected: boolean;
  lastError: string | undefined;
  consumers: KafkaConsumerReport[];
}

export interface KafkaConsumers {
  start(): Promise<void>;
  /** Each consumer finishes its step and commits, then leaves its group. */
  stop(): Promise<void>;
  stats(): KafkaDispatchStats;
}

export interface KafkaConsumersOptions {
  settings: KafkaSettings;
  dataDir: string;
  sinks: readonly GuardedSink[];
  /** Where the alerts consumer hands client events (the local alerter, or Kafka alerts' candidates). */
  alerts: Sink;
  pool: Pick<DecodePool, 'decode'> | undefined;
  batchSize: number;
  pollMs: number;
  timings?: Partial<KafkaConsumerTimings>;
}

interface Member {
  name: string;
  groupId: string;
  consumer: Consumer<KafkaPosition>;
  source: () => KafkaRecordSource | undefined;
  deadLetter: DeadLetterWriter;
  counters: SinkCounters;
  sinkCounts: boolean;
}

/**
 * The dispatchers as Kafka consumer groups: per topic, one group per sink (`<prefix><sink>` on the
 * client topic, `<prefix><sink>.server` on the server topic) and `<prefix>alerts`. Each group's
 * committed offsets are that sink's checkpoint, as the checkpoint files are for the spools: one
 * sink down pauses only its own group. The handlers, sinks and decode pool are the spools' own.
 */
export function createKafkaConsumers(options: KafkaConsumersOptions): KafkaConsumers {
  const { settings } = options;
  const kafka = createDispatchKafka(settings);
  const topics = kafkaTopics(settings.topicPrefix);
  const members: Member[] = [];
  // Decoded once per topic in this process when the same record comes to more than one group here.
  const caches = new Map<string, DecodeCache>();

  function add(name: string, topic: string, content: SpoolContent, target: Sink, guard?: GuardedSink): void {
    const groupId = `${settings.topicPrefix}${name}`;
    const deadLetter = createDeadLetterWriter(options.dataDir, name);
    const counters: SinkCounters = { events: 0, encodedEvents: 0, logs: 0, skipped: 0, lastError: undefined };
    let cache = caches.get(topic);
    if (cache === undefined) caches.set(topic, (cache = createDecodeCache()));
    const handle = createSinkHandler<KafkaPosition>(target, deadLetter, counters, content, cache, {
      ...(options.pool ? { pool: options.pool } : {}),
      identity: KAFKA_RECORD_IDENTITY,
    });
    let source: KafkaRecordSource | undefined;
    const listeners = new Set<() => void>();
    const consumer = createConsumer<KafkaPosition>({
      name,
      openSource: async () =>
        (source = await openKafkaSource({
          kafka,
          groupId,
          topic,
          onRecords: () => listeners.forEach((listener) => listener()),
          ...(guard ? { paused: () => guard.breaker.stats().state === 'open' } : {}),
          ...(options.timings ? { timings: options.timings } : {}),
        })),
      handle,
      batchSize: options.batchSize,
      pollMs: options.pollMs,
      notify: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      linger: target.batching,
    });
    members.push({
      name,
      groupId,
      consumer,
      source: () => source,
      deadLetter,
      counters,
      sinkCounts: guard !== undefined,
    });
  }

  for (const sink of options.sinks) add(sink.name, topics.client, 'client', sink, sink);
  add('alerts', topics.client, 'client', options.alerts);
  for (const sink of options.sinks)
    if (sink.exportServerLogs !== undefined) add(`${sink.name}.server`, topics.server, 'server', sink, sink);

  return {
    async start() {
      for (const member of members) await member.consumer.start();
    },
    async stop() {
      await Promise.all(members.map((member) => member.consumer.stop()));
    },
    stats() {
      const consumers = members.map((m): KafkaConsumerReport => {
        const base = m.consumer.stats();
        const report: KafkaConsumerReport = {
          ...base,
          groupId: m.groupId,
          deadLettered: m.deadLetter.counts(),
          source: m.source()?.stats(),
        };
        if (m.sinkCounts) {
          report.events = m.counters.events;
          report.logs = m.counters.logs;
        }
        report.lastError = m.counters.lastError ?? report.source?.lastError ?? base.lastError;
        return report;
      });
      return {
        connected: consumers.length > 0 && consumers.every((c) => c.source?.connected === true),
        lastError: consumers.map((c) => c.source?.lastError).find((e) => e !== undefined),
        consumers,
      };
    },
  };
}
