import { startTelltale } from '../server.js';
import type { Command } from './types.js';

export const startCommand: Command = {
  summary: 'run collector, dispatchers and dashboards in one process (the default)',
  async run(_argv, io) {
    const running = await startTelltale({ env: io.env });
    io.stdout.write(
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
    await new Promise<void>((resolve) => {
      const stop = (signal: string): void => {
        io.stdout.write(`\n${signal}: finishing in-flight requests and syncing the spool…\n`);
        running.close().then(resolve, (error: unknown) => {
          io.stderr.write(`shutdown failed: ${String(error)}\n`);
          process.exitCode = 1;
          resolve();
        });
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
    return process.exitCode === 1 ? 1 : 0;
  },
};
