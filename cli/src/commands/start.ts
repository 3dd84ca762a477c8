import { DSN_KEY_PATTERN, sentryDsn } from '@telltale/collector';
import { DEMO_PROJECT_ID } from '../demo-app.js';
import { startTelltale } from '../server.js';
import { serveUntilSignal } from './run-until-signal.js';
import type { Command } from './types.js';

export const startCommand: Command = {
  summary: 'run collector, dispatchers and dashboards in one process (the default)',
  run: (_argv, io) =>
    serveUntilSignal(
      io,
      'finishing in-flight requests and syncing the spool',
      () => startTelltale({ env: io.env }),
      (running) =>
        [
          '',
          `Telltale is running on ${running.url}`,
          `  dashboard   ${running.dashboardUrl}/`,
          ...(running.demoKey === undefined
            ? ['  demo app    off on a public address (TELLTALE_DEMO=1 turns it on)']
            : [`  demo page   ${running.dashboardUrl}/demo`]),
          `  ingest API  ${running.url}/v1/batch`,
          ...(running.demoKey === undefined
            ? []
            : [
                `  demo app ingest key: ${running.demoKey}`,
                DSN_KEY_PATTERN.test(running.demoKey)
                  ? `  demo app Sentry DSN: ${sentryDsn({ ingestKeys: [running.demoKey], projectId: DEMO_PROJECT_ID }, running.url)}`
                  : '  demo app Sentry DSN: none (its key has "-"; set TELLTALE_DEMO_KEY to A-Z a-z 0-9 _ only)',
              ]),
          `  data dir    ${running.dataDir}`,
          '',
          ...(running.loginLink === undefined
            ? []
            : [
                'No user yet. Open this one-time link to sign in as the first admin (valid 24 h, once):',
                `  ${running.loginLink}`,
                '',
              ]),
        ].join('\n') + '\n',
    ),
};
