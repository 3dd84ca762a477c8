import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { collectorPaths } from '@telltale/collector';
import {
  createDispatcherMetrics,
  resolveDispatcherConfig,
  startDispatchers,
  type DispatcherConfig,
  type DispatcherOptions,
  type Dispatchers,
} from '@telltale/dispatchers';
import { fsyncDir, listSegments, mkdirDurable, segmentFileName } from '@telltale/spool';
import { resolveServerConfig } from '../config.js';
import { resolveOpsConfig } from './config.js';
import { processRegistry, renderRegistries, startOpsListener, type OpsListener } from './ops.js';
import { dataLayout } from '@telltale/protocol';

export interface DispatcherRoleOptions {
  env?: NodeJS.ProcessEnv;
  /** Overrides of the dispatcher settings (tests); the environment fills the rest. */
  dispatcher?: Partial<DispatcherOptions>;
  /** Override of `TELLTALE_OPS_PORT` (tests pass 0). */
  opsPort?: number;
}

export interface RunningDispatcher {
  /** The ops listener: /healthz, /readyz, /metrics. */
  opsUrl: string;
  dataDir: string;
  dispatchers: Dispatchers;
  config: DispatcherConfig;
  /** Why /readyz answers 503 now; [] when ready. */
  notReady(): string[];
  /** Stops taking records, lets every consumer finish its step and commit, closes sinks and DuckDB. */
  close(): Promise<void>;
}

/** A sink whose breaker stayed open this long makes the process not ready (a blip is not worth a page). */
export const BREAKER_OPEN_GRACE_MS = 60_000;
/** DuckDB takes one writer process per file; a dashboards process reading a snapshot holds it a moment. */
const DUCKDB_LOCK_WAIT_MS = 15_000;

/**
 * `telltale dispatcher`: the dispatchers alone. Without Kafka they tail the local spools of the data
 * dir that a `telltale collector` on the same machine writes (the spool is the contract); with
 * `TELLTALE_KAFKA_BROKERS` the dispatchers package reads Kafka as a consumer group instead.
 */
export async function startDispatcherRole(options: DispatcherRoleOptions = {}): Promise<RunningDispatcher> {
  const env = options.env ?? process.env;
  const { dataDir, access } = resolveServerConfig({}, env);
  const ops = resolveOpsConfig(env);
  const config = resolveDispatcherConfig({ dataDir, ...options.dispatcher }, env);
  process.umask(0o077);
  await mkdirDurable(dataDir);
  const paths = collectorPaths(dataDir);
  const duckdb = config.sinks.includes('duckdb')
    ? await openDuckDbWriter(dataLayout(dataDir).duckdb)
    : undefined;
  let dispatchers: Dispatchers;
  try {
    dispatchers = await startDispatchers(config, {
      ...(duckdb ? { duckdb } : {}),
      spoolDir: paths.clientSpool,
      // No writer in this process: consumers poll (TELLTALE pollMs) and finished segments are unlinked here.
      onRemovableSegment: removeSealedSegments(paths.clientSpool),
      serverLogs: {
        spoolDir: paths.serverLogSpool,
        onRemovableSegment: removeSealedSegments(paths.serverLogSpool),
      },
    });
  } catch (error) {
    duckdb?.closeSync();
    throw error;
  }

  const openSince = new Map<string, number>();
  const notReady = (): string[] => {
    const stats = dispatchers.stats();
    const reasons: string[] = [];
    if (closing !== undefined) reasons.push('shutting down');
    const now = Date.now();
    for (const sink of stats.sinks) {
      if (sink.breaker.state !== 'open') {
        openSince.delete(sink.name);
        continue;
      }
      const since = openSince.get(sink.name) ?? now;
      openSince.set(sink.name, since);
      if (now - since >= BREAKER_OPEN_GRACE_MS)
        reasons.push(`sink ${sink.name}: breaker open for ${Math.round((now - since) / 1000)} s`);
    }
    // With Kafka: every consumer group member connected, none crashed.
    if (stats.kafka !== undefined && !stats.kafka.connected)
      reasons.push(`kafka: not connected${stats.kafka.lastError ? ` (${stats.kafka.lastError})` : ''}`);
    return reasons;
  };

  const registry = processRegistry('dispatcher');
  // The dispatchers' own figures (consumers, lag, breakers, alert backlog), computed at scrape time.
  const pipeline = createDispatcherMetrics(() => dispatchers.stats(), undefined, {
    spools: { client: paths.clientSpool, server: paths.serverLogSpool },
  });
  let listener: OpsListener;
  try {
    listener = await startOpsListener({
      host: ops.host,
      port: options.opsPort ?? ops.port,
      apiToken: access.apiToken,
      notReady,
      detail: async () => ({ backlogBytes: await backlog(dispatchers, paths) }),
      metrics: () => renderRegistries([pipeline, registry]),
    });
  } catch (error) {
    await dispatchers.close();
    duckdb?.closeSync();
    throw error;
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      // Consumers first (each finishes and commits its step); the ops port answers "shutting down" meanwhile.
      await dispatchers.close();
      duckdb?.closeSync();
      await listener.close();
    })());
  return { opsUrl: listener.url, dataDir, dispatchers, config, notReady, close };
}

/**
 * Bytes of each local spool a consumer has not committed yet (0: caught up); what an operator
 * watches to see a dispatcher drain, and what the split-deployment tests wait on.
 */
async function backlog(
  dispatchers: Dispatchers,
  paths: ReturnType<typeof collectorPaths>,
): Promise<Record<string, number>> {
  const stats = dispatchers.stats();
  const spools = [
    { dir: paths.clientSpool, consumers: stats.consumers },
    { dir: paths.serverLogSpool, consumers: stats.serverLogConsumers },
  ];
  const out: Record<string, number> = {};
  for (const { dir, consumers } of spools) {
    const segments = await listSegments(dir).catch(() => []);
    for (const consumer of consumers) {
      const at = consumer.position ?? { segment: 0, offset: 0 };
      out[consumer.name] = segments
        .filter((s) => s.segment >= at.segment)
        .reduce((sum, s) => sum + s.bytes - (s.segment === at.segment ? Math.min(at.offset, s.bytes) : 0), 0);
    }
  }
  return out;
}

/** DuckDB's file lock: retried for a while, then the error says who holds it and what to do. */
async function openDuckDbWriter(file: string): Promise<DuckDBInstance> {
  const deadline = Date.now() + DUCKDB_LOCK_WAIT_MS;
  for (;;) {
    try {
      return await DuckDBInstance.create(file);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (!/lock/i.test(message) || Date.now() > deadline)
        throw new Error(
          `${file}: ${message}. One process writes a DuckDB file: stop the other \`telltale start\` or \`telltale dispatcher\` of this data dir, or use TELLTALE_SINKS=clickhouse`,
        );
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/**
 * Every consumer passed the segments below `segment`: unlink them. The newest segment is never
 * touched (the collector may still append to it); a sealed segment is never written again.
 */
function removeSealedSegments(dir: string): (segment: number) => void {
  let running = Promise.resolve();
  return (segment) => {
    running = running
      .then(async () => {
        const present = await listSegments(dir);
        const newest = present.at(-1)?.segment;
        const victims = present.filter((s) => s.segment < segment && s.segment !== newest);
        for (const victim of victims)
          await unlink(path.join(dir, segmentFileName(victim.segment))).catch(
            (error: NodeJS.ErrnoException) => {
              if (error.code !== 'ENOENT') throw error;
            },
          );
        if (victims.length > 0) await fsyncDir(dir);
      })
      .catch(() => undefined); // a failed unlink only delays clean-up: the next commit retries it
  };
}
