import path from 'node:path';

/** The data directory when neither an option nor TELLTALE_DATA_DIR names one (relative to the working directory). */
export const DEFAULT_DATA_DIR = '.telltale';

/** A spool under `<data dir>/spool/`: the collector's two, and the copy of the Azure Blob source. */
export type SpoolName = 'client' | 'server' | 'blob';

/**
 * Every path under the data directory, named once. Collector, dispatchers, dashboards and the CLI
 * build their paths here so that two processes sharing one data directory agree on it.
 *
 * ```
 * <data dir>/
 *   spool/{client,server,blob}/    spools (collector writes client + server; blob source copies blob)
 *   checkpoints/<consumer>.json     one per consumer; kafka-forward(.server).json for the forwarder
 *   dead-letter/<consumer>/<day>/   dead letters (kafka-forward/ for records Kafka refused)
 *   attachments/                    attachments the collector accepted
 *   artifacts/                      uploaded source maps
 *   alerts/                         groups.jsonl, alert-log.jsonl, mute-rules.json
 *   outbox/                         alert emails as .eml while no SMTP server is set
 *   sources/blob-<container>.jsonl  the Azure Blob source's listing checkpoint
 *   auth/access.json                users and API tokens
 *   telltale.duckdb                 the embedded store
 *   tmp/duckdb-loads/               CSV files DuckDB is loading (one per insert, removed after it)
 *   demo-app.json, demo-api-buffer/ the demo app's key and its API's log buffer (telltale start)
 * ```
 */
export function dataLayout(dataDir: string) {
  const at = (...parts: string[]): string => path.join(dataDir, ...parts);
  return {
    root: dataDir,
    spoolRoot: at('spool'),
    spool: (name: SpoolName): string => at('spool', name),
    checkpoints: at('checkpoints'),
    checkpoint: (consumer: string): string => at('checkpoints', `${consumer}.json`),
    forwardCheckpoint: (spool: 'client' | 'server'): string =>
      at('checkpoints', spool === 'client' ? 'kafka-forward.json' : 'kafka-forward.server.json'),
    deadLetters: at('dead-letter'),
    deadLetter: (consumer: string): string => at('dead-letter', consumer),
    attachments: at('attachments'),
    artifacts: at('artifacts'),
    alerts: at('alerts'),
    alertGroups: at('alerts', 'groups.jsonl'),
    alertLog: at('alerts', 'alert-log.jsonl'),
    muteRules: at('alerts', 'mute-rules.json'),
    outbox: at('outbox'),
    blobSourceCheckpoint: (container: string): string => at('sources', `blob-${container}.jsonl`),
    accessFile: at('auth', 'access.json'),
    duckdb: at('telltale.duckdb'),
    duckdbLoads: at('tmp', 'duckdb-loads'),
    demoApp: at('demo-app.json'),
    demoApiBuffer: at('demo-api-buffer'),
  } as const;
}

export type DataLayout = ReturnType<typeof dataLayout>;
