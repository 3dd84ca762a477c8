import type { DuckDBInstance } from '@duckdb/node-api';
import { openSpoolWriter, type SpoolPosition, type SpoolWriter } from '@telltale/spool';
import {
  openAlertLog,
  type AlertListQuery,
  type AlertLog,
  type AlertSummary,
  createAlerter,
  type Alerter,
  type AlerterStats,
  startKafkaAlerts,
  type KafkaAlerts,
  createMailer,
  type Mailer,
  createSubjectFilter,
} from './alerts/index.js';
import { openErrorIntelligence, type ErrorIntelligence, type IssueServices } from './intelligence/index.js';
import type { DispatcherConfig } from './config.js';
import {
  createDeadLetterWriter,
  type DeadLetterWriter,
  createDecodePool,
  type DecodePool,
  type DecodePoolStats,
  type BreakerStats,
  containerFromConnectionString,
  type GuardedSink,
  createDecodeCache,
  createSinkHandler,
  type DecodeCache,
  type SinkCounters,
  type SpoolContent,
  retentionDays,
  type SinkFactoryDeps,
  applyDeadLetterRetention,
  applyRetention,
  DEAD_LETTER_RETENTION,
  type RetentionReport,
  type Sink,
  startBlobIngester,
  type BlobIngester,
  type BlobIngesterStats,
  openBlobLedger,
  type BlobLedger,
  createKafkaConsumers,
  type KafkaConsumers,
  type KafkaDispatchStats,
  createSpoolConsumer,
  type SpoolConsumer,
  type ConsumerStats,
  type RecordHandler,
} from './pipeline/index.js';
import { buildSinkPipeline } from './sink-pipeline.js';
import { dataLayout } from '@telltale/protocol';

/** A spool the dispatchers read, and the writer's hooks on it (the collector owns client and server spools). */
export interface SpoolHooks {
  /** The spool writer's onAppend: consumers wake on each fsync'd batch instead of waiting for the poll. */
  notify?: ((listener: () => void) => () => void) | undefined;
  /** Every consumer of this spool has passed the segments below this one: the writer may delete them. */
  onRemovableSegment?: ((segment: number) => void) | undefined;
}

export interface DispatcherDeps extends SinkFactoryDeps, SpoolHooks {
  /** The process's one DuckDB instance (the dashboards read through it too); needed when `sinks` has duckdb. */
  duckdb?: DuckDBInstance;
  /** The client spool the collector appends to (<data>/spool/client). */
  spoolDir: string;
  /** The server-log spool (default <data>/spool/server) and its writer's hooks; polled when none are given. */
  serverLogs?: SpoolHooks & { spoolDir?: string };
  /** Sinks beyond the configured ones, each with its own consumers and checkpoints; closed on close(). */
  sinks?: Sink[];
}

export interface ConsumerReport extends ConsumerStats<SpoolPosition> {
  /** Client events handed to the sink and accepted (sink consumers only). */
  events?: number;
  /** Of those, the events taken as the decode workers' wire bytes (Sink.encoding), no rows built. */
  encodedEvents?: number;
  /** Server log lines accepted (sink consumers only). */
  logs?: number;
  /** Records parked in dead-letter/<consumer>/ since start, by reason. */
  deadLettered: Record<string, number>;
}

export interface SinkReport {
  name: string;
  breaker: BreakerStats;
  retention: RetentionReport;
}

export interface DispatcherStats {
  /** Consumers of the client spool: one per sink, and `alerts`. */
  consumers: ConsumerReport[];
  /** Consumers of the server-log spool: `<sink>.server`. */
  serverLogConsumers: ConsumerReport[];
  /** Consumers of the Blob intake spool (`<sink>.blob`, `alerts.blob`); empty without a Blob source. */
  blobConsumers: ConsumerReport[];
  blobSource: BlobIngesterStats | undefined;
  sinks: SinkReport[];
  alerts: AlerterStats;
  /** The worker threads decoding and enriching records for every consumer. */
  decodePool: DecodePoolStats;
  /**
   * With `config.kafka`: the consumer groups reading the client and server topics (then
   * `consumers` and `serverLogConsumers` are empty: no local spool is read).
   */
  kafka?: KafkaDispatchStats;
}

export interface Dispatchers {
  /** One page of the alert log, newest first (see AlertListQuery); everything when no query is given. */
  listAlerts(query?: AlertListQuery): Promise<AlertSummary[]>;
  readAlert(key: string): Promise<string | null>;
  /** Error groups' lifecycle, mute rules and symbolication, for the dashboards. */
  issues: IssueServices;
  stats(): DispatcherStats;
  /** Runs retention on every sink now (it also runs at start and every `retention.intervalMs`). */
  runRetention(): Promise<RetentionReport[]>;
  /** Lets every consumer finish its in-flight step, then closes sinks, the alert log and the mailer. */
  close(): Promise<void>;
}

interface Running {
  consumer: SpoolConsumer;
  deadLetter: DeadLetterWriter;
  counters?: SinkCounters;
}

interface SpoolGroup extends SpoolHooks {
  dir: string;
  content: SpoolContent;
  running: Running[];
  lastRemovable: number;
  /** Records decoded once for all the sink consumers of this spool. */
  cache?: DecodeCache;
}

export function checkpointFile(dataDir: string, consumer: string): string {
  return dataLayout(dataDir).checkpoint(consumer);
}

/** Consumer names per spool: `<sink>` on the client spool, `<sink>.server`, `<sink>.blob`. */
const SUFFIX = { client: '', server: '.server', mixed: '.blob' } as const;

function report(r: Running): ConsumerReport {
  const out: ConsumerReport = { ...r.consumer.stats(), deadLettered: r.deadLetter.counts() };
  if (r.counters !== undefined) {
    out.events = r.counters.events;
    out.encodedEvents = r.counters.encodedEvents;
    out.logs = r.counters.logs;
    out.lastError = r.counters.lastError ?? out.lastError;
  }
  return out;
}

/**
 * Starts, per spool (client, server logs, Blob intake), one consumer per sink plus the alerts
 * consumer, each with its own checkpoint; the Blob source; and retention.
 */
export async function startDispatchers(config: DispatcherConfig, deps: DispatcherDeps): Promise<Dispatchers> {
  const sinks: GuardedSink[] = [];
  const retention = new Map<string, RetentionReport>();
  const groups: SpoolGroup[] = [];
  let log: AlertLog | undefined;
  let mailer: Mailer | undefined;
  let alerter: Alerter | undefined;
  let intelligence: ErrorIntelligence | undefined;
  let blobSpool: SpoolWriter | undefined;
  let ledger: BlobLedger | undefined;
  let ingester: BlobIngester | undefined;
  let retentionTimer: NodeJS.Timeout | undefined;
  let retentionRun: Promise<RetentionReport[]> | undefined;
  let pool: DecodePool | undefined;
  let kafkaConsumers: KafkaConsumers | undefined;
  let kafkaAlerts: KafkaAlerts | undefined;

  // Segments below the slowest consumer of a spool are done for everyone.
  function reportRemovable(group: SpoolGroup): void {
    if (group.onRemovableSegment === undefined || group.running.length === 0) return;
    const lowest = Math.min(...group.running.map((r) => r.consumer.stats().position?.segment ?? 0));
    if (lowest > group.lastRemovable) {
      group.lastRemovable = lowest;
      group.onRemovableSegment(lowest);
    }
  }

  function addConsumer(
    group: SpoolGroup,
    name: string,
    handle: (deadLetter: DeadLetterWriter) => RecordHandler<SpoolPosition>,
    sink?: Sink,
  ): Running {
    const deadLetter = createDeadLetterWriter(config.dataDir, name);
    const running: Running = {
      deadLetter,
      consumer: createSpoolConsumer({
        name,
        spoolDir: group.dir,
        checkpointFile: checkpointFile(config.dataDir, name),
        handle: handle(deadLetter),
        batchSize: config.batchSize,
        pollMs: config.pollMs,
        notify: group.notify,
        onCommit: () => reportRemovable(group),
        linger: sink?.batching,
      }),
    };
    group.running.push(running);
    return running;
  }

  function addSinkConsumer(group: SpoolGroup, sink: Sink): void {
    if (group.content === 'server' && sink.exportServerLogs === undefined) return;
    const name = `${sink.name}${SUFFIX[group.content]}`;
    const counters: SinkCounters = { events: 0, encodedEvents: 0, logs: 0, skipped: 0, lastError: undefined };
    const cache = (group.cache ??= createDecodeCache());
    const running = addConsumer(
      group,
      name,
      (deadLetter) => createSinkHandler(sink, deadLetter, counters, group.content, cache, { pool }),
      sink,
    );
    running.counters = counters;
  }

  // Dead letters are raw copies too: whole day folders expire like the stores' days.
  const deadLetterRetention: RetentionReport = {
    sink: DEAD_LETTER_RETENTION,
    days: config.retention.deadLetters,
    lastRun: undefined,
    dropped: [],
    lastError: undefined,
  };
  const runRetention = (): Promise<RetentionReport[]> => {
    retentionRun ??= (async () => {
      await Promise.all([
        ...sinks.map((sink) => applyRetention(sink, retention.get(sink.name)!)),
        applyDeadLetterRetention(config.dataDir, deadLetterRetention),
      ]);
      return [...retention.values(), deadLetterRetention].map((r) => ({ ...r, dropped: [...r.dropped] }));
    })().finally(() => {
      retentionRun = undefined;
    });
    return retentionRun;
  };

  const allRunning = (): Running[] => groups.flatMap((g) => g.running);
  const close = async (): Promise<void> => {
    clearInterval(retentionTimer);
    await ingester?.stop();
    // All at once: a Kafka consumer leaving its group mid-rebalance waits for the rebalance (up to
    // rebalanceTimeoutMs), and the sink groups and the alert deciders' group would wait one after the other.
    await Promise.all([
      ...allRunning().map((r) => r.consumer.stop()),
      kafkaConsumers?.stop(),
      kafkaAlerts?.leave(),
    ]);
    await kafkaAlerts?.close();
    await retentionRun?.catch(() => undefined);
    await alerter?.close();
    await mailer?.close();
    await log?.close();
    await intelligence?.close();
    await ledger?.close();
    await blobSpool?.close();
    for (const sink of sinks) await sink.close();
    // Last: the consumers above finished their steps, so no decode is in flight any more.
    await pool?.close();
  };

  try {
    // Source maps, group lifecycle, mute rules; every sink stores rows grouped on symbolicated frames.
    const intel = (intelligence = await openErrorIntelligence(config));
    for (const sink of [...config.sinks, ...(deps.sinks ?? [])])
      sinks.push(await buildSinkPipeline(sink, config, deps, intel));
    // One pool for every consumer of every spool: records are decoded off the HTTP event loop, and
    // rendered there in each sink's wire format too (Sink.encoding), so those sinks get bytes.
    const formats = sinks.flatMap((sink) => (sink.encoding === undefined ? [] : [sink.encoding]));
    // The alerter in this process skips records whose alert subjects are all decided (alerts/known-subjects.ts).
    if (config.kafka === undefined) formats.push('alert-keys');
    // Rows only when a consumer needs them as a rule: a sink without a wire format, or the Kafka deciders.
    const rows = config.kafka !== undefined || sinks.some((sink) => sink.encoding === undefined);
    pool = await createDecodePool({ threads: config.dispatchThreads, formats, rows });
    const names = new Set<string>(['alerts']);
    for (const sink of sinks) {
      // The name becomes checkpoint files and dead-letter folders.
      if (!/^[a-z0-9][a-z0-9-]*$/.test(sink.name) || names.has(sink.name))
        throw new Error(`sink name "${sink.name}" must be unique, lowercase letters, digits and "-"`);
      names.add(sink.name);
      retention.set(sink.name, {
        sink: sink.name,
        days: retentionDays(sink.name, config),
        lastRun: undefined,
        dropped: [],
        lastError: undefined,
      });
    }

    mailer = createMailer(config);
    let alerterTarget: Sink;
    if (config.kafka !== undefined) {
      // Many dispatchers: alerts are decided once per subject across all of them (alerts/kafka).
      const { sessionTimeoutMs, heartbeatIntervalMs } = config.kafkaTimings ?? {};
      // The deciders' group lets go of a killed member as fast as the sink groups do.
      const timings = {
        ...(sessionTimeoutMs !== undefined ? { sessionTimeoutMs } : {}),
        ...(heartbeatIntervalMs !== undefined ? { heartbeatIntervalMs } : {}),
      };
      kafkaAlerts = await startKafkaAlerts({ config, intel, mailer, timings });
      alerterTarget = kafkaAlerts.candidates;
    } else {
      log = await openAlertLog(config.dataDir);
      alerter = createAlerter({
        dataDir: config.dataDir,
        dashboardUrl: config.dashboardUrl,
        log,
        mailer,
        ...intel.alerterOptions,
      });
      // The alerter reads through the same decode cache as the sinks: a record is decoded and enriched
      // once per spool, not once per consumer (that work is most of the dispatchers' CPU).
      const activeAlerts = alerter;
      const mayRaise = createSubjectFilter({ log, ...intel.alerterOptions });
      alerterTarget = {
        name: 'alerts',
        export: async (events) => {
          await activeAlerts.process(events);
          return { status: 'ok' };
        },
        // Most records raise nothing new: told from their subjects, without building their rows.
        encoding: 'alert-keys',
        exportEncoded: async (batch) => {
          const records = await mayRaise(batch);
          if (records.length > 0) await activeAlerts.process(await batch.events(records));
          return { status: 'ok' };
        },
        close: async () => undefined,
      };
    }
    const alertHandler =
      (group: SpoolGroup) =>
      (deadLetter: DeadLetterWriter): RecordHandler<SpoolPosition> =>
        // Client batches only: server-log envelopes raise no alerts (no exportServerLogs).
        createSinkHandler(
          alerterTarget,
          deadLetter,
          { events: 0, encodedEvents: 0, logs: 0, skipped: 0, lastError: undefined },
          group.content,
          (group.cache ??= createDecodeCache()),
          { pool },
        );

    const client: SpoolGroup = {
      dir: deps.spoolDir,
      content: 'client',
      running: [],
      lastRemovable: 0,
      ...pick(deps),
    };
    const server: SpoolGroup = {
      dir: deps.serverLogs?.spoolDir ?? dataLayout(config.dataDir).spool('server'),
      content: 'server',
      running: [],
      lastRemovable: 0,
      ...pick(deps.serverLogs ?? {}),
    };
    // Always the first two groups (stats() reads them by index); without consumers in Kafka mode.
    groups.push(client, server);
    if (config.kafka === undefined) {
      for (const sink of sinks) addSinkConsumer(client, sink);
      addConsumer(client, 'alerts', alertHandler(client));
      for (const sink of sinks) addSinkConsumer(server, sink);
    } else {
      // The collectors forward their spools to Kafka: the sinks and the alerts read the topics instead.
      kafkaConsumers = createKafkaConsumers({
        settings: config.kafka,
        dataDir: config.dataDir,
        sinks,
        alerts: alerterTarget,
        pool,
        batchSize: config.batchSize,
        pollMs: config.pollMs,
        ...(config.kafkaTimings ? { timings: config.kafkaTimings } : {}),
      });
    }

    if (config.blobSource !== undefined) {
      // Blobs are copied into a local intake spool first, so every sink and the alerter read them with their own checkpoints.
      const spool = await openSpoolWriter({ dir: dataLayout(config.dataDir).spool('blob') });
      blobSpool = spool;
      const blob: SpoolGroup = {
        dir: spool.dir,
        content: 'mixed',
        running: [],
        lastRemovable: 0,
        notify: (listener) => spool.onAppend(listener),
        onRemovableSegment: (segment) => void spool.removeSegmentsBefore(segment).catch(() => undefined),
      };
      groups.push(blob);
      for (const sink of sinks) addSinkConsumer(blob, sink);
      addConsumer(blob, 'alerts.blob', alertHandler(blob));
      ledger = await openBlobLedger(
        dataLayout(config.dataDir).blobSourceCheckpoint(config.blobSource.container),
      );
    }

    // DuckDB retention finishes before anything is written; remote stores are trimmed in the background.
    const local = sinks.find((s) => s.name === 'duckdb');
    if (local !== undefined) await applyRetention(local, retention.get('duckdb')!);
    // Paused: consumers stay unstarted, so checkpoints stay put and the spool keeps every record.
    if (!config.dispatchPaused) {
      for (const r of allRunning()) await r.consumer.start();
      await kafkaConsumers?.start();
    }
    for (const group of groups) reportRemovable(group);
    void runRetention();
    retentionTimer = setInterval(() => void runRetention(), config.retention.intervalMs);
    retentionTimer.unref();

    if (config.blobSource !== undefined && blobSpool !== undefined && ledger !== undefined) {
      ingester = startBlobIngester({
        container: containerFromConnectionString(
          config.blobSource.connectionString,
          config.blobSource.container,
          deps.blobPipelineOptions,
        ),
        prefix: config.blobSource.prefix,
        spool: blobSpool,
        ledger,
        deadLetter: createDeadLetterWriter(config.dataDir, 'blob-source'),
        pollMs: config.blobSource.pollMs,
      });
    }
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }

  const activeAlerter: Pick<KafkaAlerts, 'listAlerts' | 'readAlert' | 'stats'> = kafkaAlerts ?? alerter!;
  const activePool = pool;
  const activeKafka = kafkaConsumers;
  const reports = (group: SpoolGroup | undefined): ConsumerReport[] => (group?.running ?? []).map(report);
  return {
    listAlerts: (query) => activeAlerter.listAlerts(query),
    issues: intelligence.issues,
    readAlert: (key) => activeAlerter.readAlert(key),
    stats: () => ({
      consumers: reports(groups[0]),
      serverLogConsumers: reports(groups[1]),
      blobConsumers: reports(groups[2]),
      blobSource: ingester?.stats(),
      sinks: sinks.map((sink) => ({
        name: sink.name,
        breaker: sink.breaker.stats(),
        retention: { ...retention.get(sink.name)!, dropped: [...retention.get(sink.name)!.dropped] },
      })),
      alerts: activeAlerter.stats(),
      decodePool: activePool.stats(),
      ...(activeKafka ? { kafka: activeKafka.stats() } : {}),
    }),
    runRetention,
    close,
  };
}

function pick(hooks: SpoolHooks): SpoolHooks {
  return { notify: hooks.notify, onRemovableSegment: hooks.onRemovableSegment };
}
