#!/usr/bin/env node
import { TelltaleError } from '@telltale/protocol';
import { startTelltale } from './server.js';

const USAGE = `Usage: telltale <command>

Commands:
  start     Run collector, dispatchers and dashboards in one process (default)
  help      Show this message

Environment: TELLTALE_HOST, TELLTALE_PORT, TELLTALE_DATA_DIR, TELLTALE_DEMO_KEY,
TELLTALE_SMTP_URL, TELLTALE_ALERT_TO, TELLTALE_ALERT_FROM (see docs/configuration.md).`;

async function start(): Promise<void> {
  const running = await startTelltale();
  process.stdout.write(
    [
      '',
      `Telltale is running on ${running.url}`,
      `  dashboard   ${running.url}/`,
      `  demo page   ${running.url}/demo`,
      `  ingest API  ${running.url}/v1/batch`,
      `  demo app ingest key: ${running.demoKey}`,
      `  data dir    ${running.dataDir}`,
      '',
    ].join('\n') + '\n',
  );
  const stop = (signal: string): void => {
    process.stdout.write(`\n${signal}: finishing in-flight requests and syncing the spool…\n`);
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? 'start';
  switch (command) {
    case 'start':
      await start();
      return 0;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n');
      return 0;
    default:
      process.stderr.write(`telltale: unknown command "${command}"\n\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (error: unknown) => {
    // Config errors name the field and the fix; anything else is a bug worth a stack.
    process.stderr.write(
      error instanceof TelltaleError
        ? `telltale: ${error.message}\n`
        : `${String((error as Error)?.stack ?? error)}\n`,
    );
    process.exit(1);
  },
);
