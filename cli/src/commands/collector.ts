import { startCollectorRole } from '../roles/collector.js';
import { serveUntilSignal } from './run-until-signal.js';
import type { Command } from './types.js';

export const collectorCommand: Command = {
  summary: 'run the collector alone (into the local spool; to Kafka with TELLTALE_KAFKA_BROKERS)',
  run: (_argv, io) =>
    serveUntilSignal(
      io,
      'finishing in-flight requests and syncing the spool',
      () => startCollectorRole({ env: io.env }),
      (running) =>
        `telltale collector listening on ${running.url} (data dir ${running.dataDir}; /healthz /readyz /metrics)\n`,
    ),
};
