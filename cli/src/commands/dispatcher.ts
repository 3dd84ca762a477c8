import { startDispatcherRole } from '../roles/dispatcher.js';
import { DISPATCHER_SHUTDOWN_DEADLINE_MS, serveUntilSignal } from './run-until-signal.js';
import type { Command } from './types.js';

export const dispatcherCommand: Command = {
  summary: 'run the dispatchers alone (the data dir’s spools, or Kafka, into the sinks and alerts)',
  run: (_argv, io) =>
    serveUntilSignal(
      io,
      'finishing and committing the consumers’ steps',
      () => startDispatcherRole({ env: io.env }),
      (running) =>
        `telltale dispatcher running: sinks ${running.config.sinks.join(', ')}; data dir ${running.dataDir}; ops on ${running.opsUrl} (/healthz /readyz /metrics)\n`,
      { deadlineMs: DISPATCHER_SHUTDOWN_DEADLINE_MS },
    ),
};
