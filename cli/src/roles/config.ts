import { resolveDispatcherConfig, type ClickHouseSettings } from '@telltale/dispatchers';
import {
  choiceSetting,
  envText,
  invalidConfig as invalid,
  portSetting,
  readSetting,
  SERVICE_SETTINGS,
  type EnvTable,
} from '@telltale/protocol';

/** Settings the separate processes (`telltale collector | dispatcher | dashboards`) add to the shared ones. */

/** The dispatcher's ops listener (`/healthz`, `/readyz`, `/metrics`); it serves nothing else. */
export interface OpsConfig {
  /** `TELLTALE_OPS_HOST`, default 127.0.0.1 (0.0.0.0 in a container, for the scraper and the healthcheck). */
  readonly host: string;
  /** `TELLTALE_OPS_PORT`, default 9464 (the port Prometheus exporters conventionally use); 0 picks a free one. */
  readonly port: number;
}

export const DEFAULT_OPS_PORT = 9464;

/** Where the dashboards read events: the embedded DuckDB of the data dir, or ClickHouse. */
export type StoreConfig =
  { readonly kind: 'duckdb' } | { readonly kind: 'clickhouse'; readonly clickhouse: ClickHouseSettings };

/** The roles' own variables; the rest are SERVICE_SETTINGS and the packages' tables. */
export const ROLE_SETTINGS = {
  opsHost: { ...SERVICE_SETTINGS.host, env: 'TELLTALE_OPS_HOST' },
  opsPort: portSetting('TELLTALE_OPS_PORT', DEFAULT_OPS_PORT),
  store: choiceSetting('TELLTALE_STORE', ['duckdb', 'clickhouse'], 'duckdb'),
} as const satisfies EnvTable;

export function resolveOpsConfig(env: NodeJS.ProcessEnv): OpsConfig {
  return Object.freeze({
    host: readSetting(ROLE_SETTINGS.opsHost, env),
    port: readSetting(ROLE_SETTINGS.opsPort, env),
  });
}

/**
 * `TELLTALE_STORE` (default duckdb). ClickHouse is read with the same `TELLTALE_CLICKHOUSE_*`
 * variables the sink writes with, validated by the same rules (so one mistake has one message).
 */
export function resolveStoreConfig(env: NodeJS.ProcessEnv, dataDir: string): StoreConfig {
  if (readSetting(ROLE_SETTINGS.store, env) === 'duckdb') return { kind: 'duckdb' };
  if (envText(env, 'TELLTALE_CLICKHOUSE_URL') === undefined)
    invalid(
      'TELLTALE_CLICKHOUSE_URL',
      'is required when TELLTALE_STORE=clickhouse (e.g. http://127.0.0.1:8123)',
    );
  const { clickhouse } = resolveDispatcherConfig({ dataDir, sinks: ['clickhouse'] }, env);
  return { kind: 'clickhouse', clickhouse: clickhouse! };
}
