import type { DuckDBInstance } from '@duckdb/node-api';
import type { TokenCredential } from '@azure/identity';
import type { LogsIngestionClientOptions } from '@azure/monitor-ingestion';
import type { StoragePipelineOptions } from '@azure/storage-blob';
import { createBlobArchiveSink } from './blob-archive/sink.js';
import { createClickHouseSink } from './clickhouse/sink.js';
import { createDuckDbSink } from './duckdb/sink.js';
import { createLogAnalyticsSink } from './log-analytics/sink.js';
import type { SinkKind, SinkSettings } from './settings.js';
import type { Sink } from './types.js';
import { dataLayout } from '@telltale/protocol';

/** What the configured sinks need beyond their settings: shared instances, credentials, test seams. */
export interface SinkFactoryDeps {
  /** The process's one DuckDB instance; opened from `<dataDir>/telltale.duckdb` by the CLI when absent. */
  duckdb?: DuckDBInstance | undefined;
  /** Log Analytics credential; DefaultAzureCredential (managed identity, environment, Azure CLI…) when absent. */
  azureCredential?: TokenCredential | undefined;
  /** Extra LogsIngestionClient options (e.g. tlsOptions for a private CA). */
  logAnalyticsClientOptions?: LogsIngestionClientOptions | undefined;
  /** Extra Blob storage pipeline options. */
  blobPipelineOptions?: StoragePipelineOptions | undefined;
}

export function duckDbFile(dataDir: string): string {
  return dataLayout(dataDir).duckdb;
}

/** Builds one configured sink. Nothing here connects yet: a store that is down at start only delays its consumer. */
export async function createSink(
  kind: SinkKind,
  config: SinkSettings & { readonly dataDir: string },
  deps: SinkFactoryDeps,
): Promise<Sink> {
  switch (kind) {
    case 'duckdb':
      if (deps.duckdb === undefined)
        throw new Error('the duckdb sink needs the DuckDB instance (deps.duckdb)');
      return createDuckDbSink(deps.duckdb, { loadDir: dataLayout(config.dataDir).duckdbLoads });
    case 'clickhouse':
      if (config.clickhouse === undefined) throw new Error('clickhouse settings missing');
      return createClickHouseSink(config.clickhouse);
    case 'log-analytics': {
      if (config.logAnalytics === undefined) throw new Error('log-analytics settings missing');
      // Loaded only when used: it pulls in MSAL.
      const credential =
        deps.azureCredential ?? new (await import('@azure/identity')).DefaultAzureCredential();
      return createLogAnalyticsSink({
        ...config.logAnalytics,
        credential,
        ...(deps.logAnalyticsClientOptions === undefined
          ? {}
          : { clientOptions: deps.logAnalyticsClientOptions }),
      });
    }
    case 'blob-archive':
      if (config.blobArchive === undefined) throw new Error('blob-archive settings missing');
      return createBlobArchiveSink({
        ...config.blobArchive,
        ...(deps.blobPipelineOptions === undefined ? {} : { pipelineOptions: deps.blobPipelineOptions }),
      });
  }
}

/** Days of data a sink keeps (0: all), by the retention settings. */
export function retentionDays(name: string, config: SinkSettings): number {
  if (name === 'duckdb') return config.retention.duckdb;
  if (name === 'clickhouse') return config.retention.clickhouse;
  if (name === 'blob-archive') return config.retention.blobArchive;
  return 0;
}
