import { startDashboardsRole } from '../roles/dashboards.js';
import { serveUntilSignal } from './run-until-signal.js';
import type { Command } from './types.js';

export const dashboardsCommand: Command = {
  summary: 'run the dashboards and API alone (TELLTALE_STORE=duckdb of the data dir, or clickhouse)',
  run: (_argv, io) =>
    serveUntilSignal(
      io,
      'finishing in-flight requests',
      () => startDashboardsRole({ env: io.env }),
      (running) =>
        [
          `telltale dashboards on ${running.url}/ (store ${running.store}; data dir ${running.dataDir})`,
          ...(running.loginLink === undefined
            ? []
            : [
                'No user yet. Open this one-time link to sign in as the first admin (valid 24 h, once):',
                `  ${running.loginLink}`,
              ]),
        ].join('\n') + '\n',
    ),
};
