import kafkajs, { type Admin, type EachBatchPayload } from 'kafkajs';
import { kafkaTopics, TelltaleError } from '@telltale/protocol';
import type { DispatcherConfig } from '../../config.js';
import type { Sink } from '../../pipeline/index.js';
import type { AlertListQuery, AlertSummary } from '../alert-log.js';
import { createAlerter, type Alerter, type AlerterStats } from '../alerter.js';
import type { ErrorIntelligence } from '../../intelligence/index.js';
import type { Mailer } from '../mailer.js';
import { createCandidatesSink } from './candidates.js';
import { DECIDER_TIMINGS, startDeciders, type DeciderTimings } from './decider.js';
import { listAcross } from './listing.js';
import { sumStats } from './stats.js';
import { startAlertLogView } from './log-view.js';
import { readOutboxAlert } from './reader.js';
import { openSharedAlertState } from './shared-state.js';

export { subjectKey } from './candidates.js';
export { openSharedAlertState, type SharedAlertState } from './shared-state.js';
export { startKafkaAlertReader, type KafkaAlertReader } from './reader.js';
export { DECIDER_TIMINGS, type DeciderTimings } from './decider.js';

export interface KafkaAlertsOptions {
  config: DispatcherConfig /* config.kafka set */;
  intel: ErrorIntelligence;
  mailer: Mailer;
  /** Beyond the agreed interface: tests shorten the session timeout (default: config.kafkaTimings, else 30 s). */
  timings?: Partial<DeciderTimings>;
  /** Fault injection for tests: called with each candidates batch before it is decided (see decider.ts). */
  beforeBatch?: (payload: EachBatchPayload) => void | Promise<void>;
}

export interface KafkaAlerts {
  /** What the alerts consumer hands enriched events to. */
  candidates: Sink;
  listAlerts(query?: AlertListQuery): Promise<AlertSummary[]>;
  readAlert(key: string): Promise<string | null>;
  stats(): AlerterStats;
  /** Candidates partitions this process decides now (beyond the agreed interface: for health and tests). */
  partitions(): number[];
  /** Deciders' consumers replaced after kafkajs stopped one for good (beyond the agreed interface: for health and tests). */
  restarts(): number;
  /**
   * The deciders leave their group (their last decisions logged and committed); the candidates sink
   * still works. close() does it too: shutdown calls this beside the other consumers' stops, since a
   * member leaving mid-rebalance waits for the rebalance and waits one after the other would add up.
   */
  leave(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Alerts decided exactly once across many dispatchers (docs/alerts.md, "Many dispatchers"): every
 * dispatcher forwards candidates keyed by subject; the owner of a candidates partition decides its
 * subjects against that partition of the alert log, kept in Kafka.
 */
export async function startKafkaAlerts(options: KafkaAlertsOptions): Promise<KafkaAlerts> {
  const { config, intel, mailer } = options;
  const settings = config.kafka;
  if (settings === undefined)
    throw new TelltaleError(
      'TELLTALE_ERR_INVALID_CONFIG',
      'kafka: Kafka alerts need TELLTALE_KAFKA_BROKERS (host:port of the brokers); without it the dispatchers decide alerts locally',
    );
  // The session timeout the dispatchers' own consumers use (TELLTALE_KAFKA_SESSION_TIMEOUT_MS), unless a test sets its own.
  const { sessionTimeoutMs, heartbeatIntervalMs } = config.kafkaTimings ?? {};
  const timings: DeciderTimings = {
    ...DECIDER_TIMINGS,
    ...(sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs }),
    ...(heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs }),
    ...options.timings,
  };
  const topics = kafkaTopics(settings.topicPrefix);
  const kafka = new kafkajs.Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    logLevel: kafkajs.logLevel.ERROR,
  });
  const admin = kafka.admin();
  // acks=-1 everywhere: a decision counts once every in-sync replica has it.
  const producer = kafka.producer({
    idempotent: settings.idempotent,
    ...(settings.idempotent ? { maxInFlightRequests: 1 } : {}),
    allowAutoTopicCreation: true,
  });
  const closers: Array<() => Promise<unknown>> = [];
  const close = async (): Promise<void> => {
    for (const step of closers.splice(0).reverse()) await step().catch(() => undefined);
  };
  let lastError: string | undefined;
  const onError = (error: unknown): void => {
    lastError = error instanceof Error ? error.message : String(error);
  };

  try {
    await admin.connect();
    closers.push(() => admin.disconnect());
    await producer.connect();
    closers.push(() => producer.disconnect());
    await checkPartitions(admin, topics.alertCandidates, topics.alertLog);

    const state = await openSharedAlertState(config.dataDir);
    closers.push(() => state.close());
    const view = await startAlertLogView({
      kafka,
      admin,
      topic: topics.alertLog,
      groupPrefix: settings.topicPrefix,
    });
    closers.push(() => view.close());
    const {
      symbolicator,
      maxPerWindow,
      windowMs,
      firstUsePerAccount,
      maxNewKeysPerApp,
      retentionDays,
      webhooks,
    } = intel.alerterOptions;
    const deciders = await startDeciders({
      kafka,
      producer,
      view,
      state,
      groupId: `${settings.topicPrefix}alert-deciders`,
      candidatesTopic: topics.alertCandidates,
      logTopic: topics.alertLog,
      timings,
      onError,
      ...(options.beforeBatch ? { beforeBatch: options.beforeBatch } : {}),
      createAlerter: (partition, log): Alerter =>
        createAlerter({
          dataDir: config.dataDir,
          dashboardUrl: config.dashboardUrl,
          log,
          mailer,
          symbolicator,
          groups: state.groups,
          rules: state.rules,
          maxPerWindow,
          windowMs,
          firstUsePerAccount,
          maxNewKeysPerApp,
          retentionDays,
          webhooks,
          digestScope: `p${partition}`,
          inheritedPendingDelayMs: timings.inheritedPendingDelayMs,
        }),
    });
    let left: Promise<void> | undefined;
    const leave = (): Promise<void> => (left ??= deciders.close());
    closers.push(leave);
    const candidates = createCandidatesSink({
      producer,
      topic: topics.alertCandidates,
      state,
      decided: (key) => view.has(key),
      regroup: intel.regroup,
      firstUsePerAccount: config.alertFirstUsePerAccount,
      forgetAfterMs: config.alertWindowMs,
    });

    return {
      candidates,
      listAlerts: async (query) => listAcross(view.all(), query),
      readAlert: (key) => readOutboxAlert(view, config.dataDir, key),
      stats() {
        const total = sumStats(mailer.transport, [
          deciders.retired(),
          ...deciders.owned().map((a) => a.stats()),
        ]);
        total.lastError = total.lastError ?? lastError;
        return total;
      },
      partitions: () => deciders.partitions(),
      restarts: () => deciders.restarts(),
      leave,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Ownership of a candidates partition is ownership of the same log partition: the counts must match. */
async function checkPartitions(admin: Admin, candidates: string, log: string): Promise<void> {
  let topics: Array<{ name: string; partitions: unknown[] }>;
  try {
    ({ topics } = await admin.fetchTopicMetadata({ topics: [candidates, log] }));
  } catch (error) {
    throw new TelltaleError(
      'TELLTALE_ERR_INVALID_CONFIG',
      `kafka: cannot read topics ${candidates} and ${log} (${error instanceof Error ? error.message : String(error)}); create them with the same partition count, ${log} with cleanup.policy=compact (docs/alerts.md, "Many dispatchers")`,
    );
  }
  const count = (name: string): number => topics.find((t) => t.name === name)?.partitions.length ?? 0;
  if (count(candidates) !== count(log))
    throw new TelltaleError(
      'TELLTALE_ERR_INVALID_CONFIG',
      `kafka: topic ${candidates} has ${count(candidates)} partitions and ${log} has ${count(log)}; create both with the same number (the decider of candidates partition N writes log partition N)`,
    );
}
