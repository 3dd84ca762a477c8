import { resolveDispatcherConfig, type ClickHouseSettings } from '@telltale/dispatchers';
import { TelltaleError } from '@telltale/protocol';

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

function invalid(field: string, problem: string): never {
  throw new TelltaleError('TELLTALE_ERR_INVALID_CONFIG', `${field}: ${problem}`);
}

function port(field: string, raw: string, fallback: number): number {
  if (raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!/^\d{1,5}$/.test(raw.trim()) || value > 65535)
    invalid(field, `"${raw}" is not a port number (0-65535)`);
  return value;
}

export function resolveOpsConfig(env: NodeJS.ProcessEnv): OpsConfig {
  const host = env.TELLTALE_OPS_HOST?.trim() || '127.0.0.1';
  return Object.freeze({
    host,
    port: port('TELLTALE_OPS_PORT', env.TELLTALE_OPS_PORT ?? '', DEFAULT_OPS_PORT),
  });
}

const STORES = ['duckdb', 'clickhouse'] as const;

/**
 * `TELLTALE_STORE` (default duckdb). ClickHouse is read with the same `TELLTALE_CLICKHOUSE_*`
 * variables the sink writes with, validated by the same rules (so one mistake has one message).
 */
export function resolveStoreConfig(env: NodeJS.ProcessEnv, dataDir: string): StoreConfig {
  const raw = env.TELLTALE_STORE?.trim() || 'duckdb';
  if (!(STORES as readonly string[]).includes(raw))
    invalid(
      'TELLTALE_STORE',
      `"${raw}" is not one of ${STORES.join(', ')} (clickhouse reads TELLTALE_CLICKHOUSE_URL)`,
    );
  if (raw === 'duckdb') return { kind: 'duckdb' };
  if (!env.TELLTALE_CLICKHOUSE_URL?.trim())
    invalid(
      'TELLTALE_CLICKHOUSE_URL',
      'is required when TELLTALE_STORE=clickhouse (e.g. http://127.0.0.1:8123)',
    );
  const { clickhouse } = resolveDispatcherConfig({ dataDir, sinks: ['clickhouse'] }, env);
  return { kind: 'clickhouse', clickhouse: clickhouse! };
}
