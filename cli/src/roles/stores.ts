import { access } from 'node:fs/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { createClickHouseStore, createDuckDbStore, type DashboardStore } from '@telltale/dashboards';
import { ensureDuckDbSchema, type ClickHouseSettings } from '@telltale/dispatchers';
import type { StoreConfig } from './config.js';

/** A store for a dashboards process, and whether it can answer now (for /readyz). */
export interface RoleStore {
  store: DashboardStore;
  notReady(): Promise<string[]>;
  close(): Promise<void>;
}

/** A store that cannot answer right now: the API answers 503 with the reason, not 500. */
class StoreUnavailable extends Error {
  readonly statusCode = 503;
  readonly code = 'TELLTALE_ERR_STORAGE';
}

/**
 * The embedded DuckDB, read-only, opened for each burst of requests and closed when the last one
 * ends. DuckDB allows one writing process per file and no reader beside it, so this works while no
 * dispatcher holds the file (e.g. it drained and stopped, or it writes ClickHouse); while one does,
 * every call is a 503 that says so. Holding the file open would keep a dispatcher from restarting.
 * Before any dispatcher created the file, an empty in-memory database of the same schema answers.
 */
export function duckDbSnapshotStore(file: string): RoleStore {
  let open: Promise<{ instance: DuckDBInstance; store: DashboardStore }> | undefined;
  let users = 0;
  async function acquire(): Promise<DashboardStore> {
    users += 1;
    try {
      open ??= (async () => {
        // Nothing stored yet: an empty database of the same schema answers (empty lists, zero counts).
        const exists = await access(file).then(
          () => true,
          () => false,
        );
        let instance: DuckDBInstance;
        try {
          instance = exists
            ? await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' })
            : await DuckDBInstance.create(':memory:');
        } catch (error) {
          throw new StoreUnavailable(
            `${file} is held by a process writing it (${String((error as Error).message).slice(0, 200)}); ` +
              'DuckDB takes no reader beside its writer: serve the dashboards from that process (telltale start) or use TELLTALE_STORE=clickhouse',
          );
        }
        if (!exists) {
          const connection = await instance.connect();
          await ensureDuckDbSchema(connection);
          connection.closeSync();
        }
        return { instance, store: await createDuckDbStore(instance) };
      })();
      return (await open).store;
    } catch (error) {
      open = undefined;
      users -= 1;
      throw error;
    }
  }
  async function release(): Promise<void> {
    users -= 1;
    if (users > 0 || open === undefined) return;
    // Taken synchronously: a request arriving meanwhile opens a fresh snapshot instead of this closing one.
    const closing = open;
    open = undefined;
    const current = await closing;
    await current.store.close();
    current.instance.closeSync();
  }
  const call =
    <A extends unknown[], R>(pick: (store: DashboardStore) => (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const store = await acquire();
      try {
        return await pick(store)(...args);
      } finally {
        await release();
      }
    };
  const store: DashboardStore = {
    errorGroups: call((s) => s.errorGroups),
    errorGroup: call((s) => s.errorGroup),
    featureUsage: call((s) => s.featureUsage),
    assertFailures: call((s) => s.assertFailures),
    blockedEvents: call((s) => s.blockedEvents),
    listEvents: call((s) => s.listEvents),
    eventById: call((s) => s.eventById),
    eventCounts: call((s) => s.eventCounts),
    timeline: call((s) => s.timeline),
    serverLogs: call((s) => s.serverLogs),
    filterOptions: call((s) => s.filterOptions),
    findIds: call((s) => s.findIds),
    search: call((s) => s.search),
    errorSparklines: call((s) => s.errorSparklines),
    errorGroupSeries: call((s) => s.errorGroupSeries),
    featureSeries: call((s) => s.featureSeries),
    assertSeries: call((s) => s.assertSeries),
    blockedSeries: call((s) => s.blockedSeries),
    close: async () => undefined,
  };
  return {
    store,
    async notReady() {
      try {
        await acquire();
        await release();
        return [];
      } catch (error) {
        return [`store: ${(error as Error).message}`];
      }
    },
    // Each burst closes its snapshot when it ends: nothing stays open to close here.
    close: async () => undefined,
  };
}

/** ClickHouse through `createClickHouseStore` of @telltale/dashboards (the dashboards' own queries). */
export async function clickHouseRoleStore(settings: ClickHouseSettings): Promise<RoleStore> {
  const store = await createClickHouseStore({
    url: settings.url,
    database: settings.database,
    username: settings.username,
    password: settings.password,
  });
  return {
    store,
    async notReady() {
      try {
        await store.eventCounts();
        return [];
      } catch (error) {
        return [`store: ClickHouse at ${settings.url}: ${(error as Error).message.slice(0, 200)}`];
      }
    },
    close: () => store.close(),
  };
}

export function openRoleStore(config: StoreConfig, duckDbFile: string): Promise<RoleStore> {
  return config.kind === 'clickhouse'
    ? clickHouseRoleStore(config.clickhouse)
    : Promise.resolve(duckDbSnapshotStore(duckDbFile));
}
