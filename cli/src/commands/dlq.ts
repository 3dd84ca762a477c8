import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  isSinkKind,
  listDeadLetterConsumers,
  markReplayed,
  openReplaySink,
  readDeadLetters,
  resolveDispatcherConfig,
  shipItems,
  type DeadLetterEntry,
  type SpoolContent,
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

/** `clickhouse.server` → sink clickhouse reading server logs; `alerts` and `blob-source` have no sink. */
function consumerTarget(consumer: string): { sink: string; content: SpoolContent } | undefined {
  const [sink = '', suffix] = consumer.split('.');
  if (!isSinkKind(sink)) return undefined;
  return { sink, content: suffix === 'server' ? 'server' : suffix === 'blob' ? 'mixed' : 'client' };
}

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
  let entries = await entriesOf(dataDir, consumer);
  if (only !== undefined) entries = entries.filter((e) => e.name === only);
  if (entries.length === 0) {
    io.stdout.write('Nothing to replay.\n');
    return only === undefined ? 0 : 1;
  }
  let replayed = 0;
  let left = 0;
  const bySink = new Map<string, DeadLetterEntry[]>();
  for (const entry of entries) {
    const target = consumerTarget(entry.consumer);
    if (target === undefined) {
      // alerts re-decide from the spool on their own; a poison blob needs a fixed upload under a new name
      io.stdout.write(
        `skip ${entry.consumer}/${entry.name}: ${entry.consumer} has no sink to replay into (kept for inspection)\n`,
      );
      left += 1;
      continue;
    }
    bySink.set(target.sink, [...(bySink.get(target.sink) ?? []), entry]);
  }
  for (const [sinkName, group] of bySink) {
    const target = await openReplaySink(sinkName, { dataDir, env: io.env });
    try {
      for (const entry of group) {
        if (entry.payload?.format === 'text') {
          // Only scrubbed text of a payload that was not JSON is kept: nothing a sink could take.
          left += 1;
          io.stdout.write(
            `still failing ${entry.consumer}/${entry.name}: ${entry.code}: not JSON (${entry.payload.bytes} bytes, ` +
              `sha256 ${entry.payload.sha256.slice(0, 16)}…); only its scrubbed text is kept, for inspection\n`,
          );
          continue;
        }
        const content = consumerTarget(entry.consumer)!.content;
        const payload = await readFile(entry.payloadFile);
        const outcome = await shipItems(
          target.sink,
          [{ origin: entry.name, payload, content }],
          60_000,
        ).catch((error: unknown) => ({
          events: 0,
          logs: 0,
          failed: [{ origin: entry.name, reason: (error as Error).message }],
        }));
        if (outcome.failed.length === 0) {
          await markReplayed(entry);
          replayed += 1;
          io.stdout.write(
            `replayed ${entry.consumer}/${entry.name}: ${outcome.events} events, ${outcome.logs} server logs\n`,
          );
        } else {
          left += 1;
          io.stdout.write(`still failing ${entry.consumer}/${entry.name}: ${outcome.failed[0]!.reason}\n`);
        }
      }
    } finally {
      await target.close();
    }
  }
  io.stdout.write(`\n${replayed} replayed, ${left} left in the dead-letter folder\n`);
  return left === 0 ? 0 : 1;
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
