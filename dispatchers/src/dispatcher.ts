import path from 'node:path';
import type { DuckDBInstance } from '@duckdb/node-api';
import type { SpoolPosition } from '@telltale/spool';
import { openAlertLog, type AlertLog, type AlertSummary } from './alerts/alert-log.js';
import { createAlerter, type Alerter, type AlerterStats } from './alerts/alerter.js';
import { createMailer, type Mailer } from './alerts/mailer.js';
import type { DispatcherConfig } from './config.js';
import { createDeadLetterWriter, type DeadLetterWriter } from './dead-letter.js';
import { createAlertHandler, createSinkHandler, type HandlerCounters } from './handlers.js';
import { createDuckDbSink } from './sinks/duckdb/sink.js';
import type { Sink } from './sinks/types.js';
import { createSpoolConsumer, type SpoolConsumer } from './sources/spool/source.js';
import type { ConsumerStats } from './sources/types.js';

export interface DispatcherDeps {
  /** The process's one DuckDB instance (the dashboards read through it too). */
  duckdb: DuckDBInstance;
  /** The client spool the collector appends to (<data>/spool/client). */
  spoolDir: string;
  /** The spool writer's onAppend: consumers wake on each fsync'd batch instead of waiting for the poll. */
  notify?: (listener: () => void) => () => void;
  /** Every consumer has passed the segments below this one: the spool may delete them. */
  onRemovableSegment?: (segment: number) => void;
  /** Sinks beside DuckDB (ClickHouse, Log Analytics, …), each with its own consumer and checkpoint; closed on close(). */
  sinks?: Sink[];
}

export interface ConsumerReport extends ConsumerStats<SpoolPosition> {
  /** Events handed to the sink and accepted (sink consumers only). */
  events?: number;
  /** Records parked in dead-letter/<consumer>/ since start, by reason. */
  deadLettered: Record<string, number>;
}

export interface DispatcherStats {
  consumers: ConsumerReport[];
  alerts: AlerterStats;
}

export interface Dispatchers {
  listAlerts(): Promise<AlertSummary[]>;
  readAlert(key: string): Promise<string | null>;
  stats(): DispatcherStats;
  /** Lets every consumer finish its in-flight step, then closes sinks, the alert log and the mailer. */
  close(): Promise<void>;
}

interface Running {
  consumer: SpoolConsumer;
  deadLetter: DeadLetterWriter;
  counters?: HandlerCounters;
}

export function checkpointFile(dataDir: string, consumer: string): string {
  return path.join(dataDir, 'checkpoints', `${consumer}.json`);
}

/** Starts one spool consumer per sink plus the alerts consumer, each with its own checkpoint. */
export async function startDispatchers(config: DispatcherConfig, deps: DispatcherDeps): Promise<Dispatchers> {
  const running: Running[] = [];
  const sinks: Sink[] = [];
  let lastRemovable = 0;

  // Segments below the slowest consumer's position are done for everyone.
  function reportRemovable(): void {
    if (deps.onRemovableSegment === undefined || running.length === 0) return;
    const lowest = Math.min(...running.map((r) => r.consumer.stats().position?.segment ?? 0));
    if (lowest > lastRemovable) {
      lastRemovable = lowest;
      deps.onRemovableSegment(lowest);
    }
  }

  function consumerFor(
    name: string,
    handle: Parameters<typeof createSpoolConsumer>[0]['handle'],
  ): SpoolConsumer {
    return createSpoolConsumer({
      name,
      spoolDir: deps.spoolDir,
      checkpointFile: checkpointFile(config.dataDir, name),
      handle,
      batchSize: config.batchSize,
      pollMs: config.pollMs,
      notify: deps.notify,
      onCommit: reportRemovable,
    });
  }

  let log: AlertLog | undefined;
  let mailer: Mailer | undefined;
  let alerter: Alerter | undefined;
  const close = async (): Promise<void> => {
    await Promise.all(running.map((r) => r.consumer.stop()));
    await alerter?.close();
    await mailer?.close();
    await log?.close();
    for (const sink of sinks) await sink.close();
  };

  try {
    // Every sink gets its own checkpoint: a slow ClickHouse never holds back DuckDB.
    sinks.push(await createDuckDbSink(deps.duckdb), ...(deps.sinks ?? []));
    const names = new Set<string>(['alerts']);
    for (const sink of sinks) {
      // The name becomes a checkpoint file and a dead-letter folder.
      if (!/^[a-z0-9][a-z0-9-]*$/.test(sink.name) || names.has(sink.name))
        throw new Error(`sink name "${sink.name}" must be unique, lowercase letters, digits and "-"`);
      names.add(sink.name);
      const deadLetter = createDeadLetterWriter(config.dataDir, sink.name);
      const counters: HandlerCounters = { events: 0, lastError: undefined };
      running.push({
        consumer: consumerFor(sink.name, createSinkHandler(sink, deadLetter, counters)),
        deadLetter,
        counters,
      });
    }

    log = await openAlertLog(config.dataDir);
    mailer = createMailer(config);
    alerter = createAlerter({ dataDir: config.dataDir, dashboardUrl: config.dashboardUrl, log, mailer });
    const alertsDeadLetter = createDeadLetterWriter(config.dataDir, 'alerts');
    running.push({
      consumer: consumerFor('alerts', createAlertHandler(alerter, alertsDeadLetter)),
      deadLetter: alertsDeadLetter,
    });

    for (const r of running) await r.consumer.start();
    reportRemovable();
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }

  const activeAlerter = alerter;
  return {
    listAlerts: () => activeAlerter.listAlerts(),
    readAlert: (key) => activeAlerter.readAlert(key),
    stats: () => ({
      consumers: running.map((r) => {
        const report: ConsumerReport = { ...r.consumer.stats(), deadLettered: r.deadLetter.counts() };
        if (r.counters !== undefined) {
          report.events = r.counters.events;
          report.lastError = r.counters.lastError ?? report.lastError;
        }
        return report;
      }),
      alerts: activeAlerter.stats(),
    }),
    close,
  };
}
