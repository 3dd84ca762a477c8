import { parseArgs } from 'node:util';
import {
  listDeadLetterConsumers,
  readDeadLetters,
  replayDeadLetters,
  resolveDispatcherConfig,
  type DeadLetterEntry,
} from '@telltale/dispatchers';
import { TelltaleError } from '@telltale/protocol';
import type { Command, CommandIO } from './types.js';

const USAGE = `Usage: telltale dlq <list | replay> [options]

Dead letters are records a consumer could not use (not JSON, not a batch, refused by a sink),
parked under <data>/dead-letter/<consumer>/<day>/ with their reason while everything after them
flowed on. They are kept scrubbed (like the stores keep them) for TELLTALE_DEAD_LETTER_RETENTION_DAYS
(default 14); of a payload that is not JSON only its scrubbed text, size and sha256 are kept.

  telltale dlq list   [--consumer NAME] [--json]
  telltale dlq replay [--consumer NAME] [--entry NAME]
      ships each entry's scrubbed copy again to its consumer's sink (after you fixed the sink),
      through the same regrouping and breaker as the live consumers; entries that go through
      move to replayed/ in their day folder. Stop the server first when the sink is duckdb
      (one writing process per DuckDB file).

  --data-dir   the data directory (TELLTALE_DATA_DIR, default ./.telltale)
`;

class UsageError extends Error {}

async function entriesOf(dataDir: string, consumer: string | undefined): Promise<DeadLetterEntry[]> {
  const consumers = consumer === undefined ? await listDeadLetterConsumers(dataDir) : [consumer];
  const out: DeadLetterEntry[] = [];
  for (const name of consumers) out.push(...(await readDeadLetters(dataDir, name)));
  return out;
}

async function list(
  io: CommandIO,
  dataDir: string,
  consumer: string | undefined,
  asJson: boolean,
): Promise<number> {
  const entries = await entriesOf(dataDir, consumer);
  if (asJson) {
    io.stdout.write(
      `${JSON.stringify(
        entries.map(({ payloadFile: _p, reasonFile: _r, ...entry }) => entry),
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  if (entries.length === 0) {
    io.stdout.write(`No dead letters${consumer === undefined ? '' : ` for ${consumer}`} in ${dataDir}.\n`);
    return 0;
  }
  const width = Math.max(...entries.map((e) => e.consumer.length));
  for (const e of entries) {
    const where = e.blob ?? e.name;
    io.stdout.write(`${e.consumer.padEnd(width)}  ${where}  ${e.time}  ${e.code}  ${e.reason}\n`);
  }
  const byConsumer = new Map<string, number>();
  for (const e of entries) byConsumer.set(e.consumer, (byConsumer.get(e.consumer) ?? 0) + 1);
  io.stdout.write(
    `\n${entries.length} dead letter${entries.length === 1 ? '' : 's'}: ${[...byConsumer].map(([c, n]) => `${c} ${n}`).join(', ')}\n`,
  );
  return 0;
}

async function replay(
  io: CommandIO,
  dataDir: string,
  consumer: string | undefined,
  only: string | undefined,
): Promise<number> {
  // The same replay as the /health page's button: one implementation, in the dispatchers.
  const report = await replayDeadLetters({
    dataDir,
    env: io.env,
    onLine: (line) => io.stdout.write(`${line}\n`),
    ...(consumer === undefined ? {} : { consumer }),
    ...(only === undefined ? {} : { entry: only }),
  });
  // Every entry found gives a line (replayed, skipped or still failing): none means nothing matched.
  if (report.lines.length === 0) {
    io.stdout.write('Nothing to replay.\n');
    return only === undefined ? 0 : 1;
  }
  io.stdout.write(`\n${report.replayed} replayed, ${report.left} left in the dead-letter folder\n`);
  return report.left === 0 ? 0 : 1;
}

async function run(argv: string[], io: CommandIO): Promise<number> {
  try {
    const [sub, ...rest] = argv;
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        consumer: { type: 'string' },
        entry: { type: 'string' },
        json: { type: 'boolean' },
        'data-dir': { type: 'string' },
      },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected "${positionals[0]}"`);
    const dataDir = resolveDispatcherConfig(
      values['data-dir'] === undefined ? {} : { dataDir: values['data-dir'] },
      {
        TELLTALE_DATA_DIR: io.env.TELLTALE_DATA_DIR,
      },
    ).dataDir;
    if (sub === 'list') return await list(io, dataDir, values.consumer, values.json === true);
    if (sub === 'replay') return await replay(io, dataDir, values.consumer, values.entry);
    throw new UsageError(sub === undefined ? 'which one: list or replay?' : `unknown subcommand "${sub}"`);
  } catch (error) {
    const parseError = String((error as NodeJS.ErrnoException | null)?.code ?? '').startsWith(
      'ERR_PARSE_ARGS',
    );
    if (error instanceof UsageError || parseError) {
      io.stderr.write(`telltale: ${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof TelltaleError) throw error; // config: main prints the code, the field and the fix
    io.stderr.write(`telltale: ${(error as Error).message}\n`);
    return 1;
  }
}

export const dlqCommand: Command = {
  summary: 'list dead-lettered records with their reasons, or replay them into their sink',
  run,
};
