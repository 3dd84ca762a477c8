import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { TelltaleError } from '@telltale/protocol';
import {
  openReplaySink,
  readArchive,
  readSpool,
  recordHeader,
  resolveDispatcherConfig,
  shipItems,
  spoolsOf,
  type ReplayItem,
  type ShipOutcome,
} from '@telltale/dispatchers';
import type { Command, CommandIO } from './types.js';

const USAGE = `Usage: telltale replay --sink NAME --since TIME [options]

Ships stored batches again into one sink: after an outage that outlasted the spool's retention in
that sink, after a sink was added, or after a fix. Stores dedupe on (app, event id), so a replay
never doubles a count in DuckDB or ClickHouse (Log Analytics keeps duplicates: its KQL counts
dcount(EventId)).

  --sink NAME     duckdb | clickhouse | log-analytics | blob-archive (configured as for the server)
  --since TIME    receive time to start from: 2024-05-01, 2024-05-01T10:00:00Z, or 90m / 36h / 7d ago
  --until TIME    receive time to stop before (default: now)
  --from WHERE    spool (default: the local client, server-log and Blob intake spools)
                  or archive (the Blob archive: TELLTALE_BLOB_CONNECTION_STRING, TELLTALE_BLOB_ARCHIVE_CONTAINER)
  --app APP       only this app's batches
  --data-dir DIR  the data directory (TELLTALE_DATA_DIR, default ./.telltale)

Stop the server first when the sink is duckdb (one writing process per DuckDB file).
`;

class UsageError extends Error {}

const CHUNK = 200;

/** An absolute time (ISO date or date-time) or a span back from now (`90m`, `36h`, `7d`). */
export function parseTime(option: string, value: string, now: number = Date.now()): number {
  const span = /^(\d+)\s*([mhd])$/.exec(value.trim());
  if (span !== null)
    return now - Number(span[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[span[2] as 'm' | 'h' | 'd'];
  const at = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : Date.parse(value);
  if (Number.isNaN(at))
    throw new UsageError(
      `${option} "${value}" is not a time: use 2024-05-01, 2024-05-01T10:00:00Z, or 90m / 36h / 7d`,
    );
  return at;
}

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

async function run(argv: string[], io: CommandIO): Promise<number> {
  let values: Record<string, string | undefined>;
  let since: number;
  let until: number;
  try {
    const parsed = parseArgs({
      args: argv,
      options: {
        sink: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        from: { type: 'string' },
        app: { type: 'string' },
        'data-dir': { type: 'string' },
      },
    });
    values = parsed.values;
    if (values.sink === undefined) throw new UsageError('--sink is required');
    if (values.since === undefined) throw new UsageError('--since is required (e.g. --since 24h)');
    if (values.from !== undefined && values.from !== 'spool' && values.from !== 'archive')
      throw new UsageError(`--from "${values.from}" must be spool or archive`);
    since = parseTime('--since', values.since);
    until = values.until === undefined ? Date.now() : parseTime('--until', values.until);
    if (until <= since) throw new UsageError('--until must be later than --since');
  } catch (error) {
    const parseError = String((error as NodeJS.ErrnoException | null)?.code ?? '').startsWith(
      'ERR_PARSE_ARGS',
    );
    if (!(error instanceof UsageError) && !parseError) throw error;
    io.stderr.write(`telltale: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }

  const dataDir = resolveDispatcherConfig(
    values['data-dir'] === undefined ? {} : { dataDir: values['data-dir'] },
    {
      TELLTALE_DATA_DIR: io.env.TELLTALE_DATA_DIR,
    },
  ).dataDir;
  const fromArchive = values.from === 'archive';
  const archive = fromArchive
    ? resolveDispatcherConfig({ dataDir, sinks: ['blob-archive'] }, io.env).blobArchive
    : undefined;
  const wanted = (item: ReplayItem): boolean => {
    const header = recordHeader(item.payload);
    // Undecodable records are kept: shipping them reports why they fail.
    if (header === undefined) return values.app === undefined;
    return (
      header.receivedAt >= since &&
      header.receivedAt < until &&
      (values.app === undefined || header.app === values.app)
    );
  };
  const items = async function* (): AsyncGenerator<ReplayItem> {
    if (archive !== undefined) {
      for await (const item of readArchive(
        archive.connectionString,
        archive.container,
        day(since),
        day(until),
        values.app,
      ))
        if (wanted(item)) yield item;
      return;
    }
    for (const spool of spoolsOf(dataDir))
      for await (const item of readSpool(spool.dir, spool.content)) if (wanted(item)) yield item;
  };

  let target: Awaited<ReturnType<typeof openReplaySink>>;
  try {
    target = await openReplaySink(values.sink!, { dataDir, env: io.env });
  } catch (error) {
    if (error instanceof TelltaleError) throw error;
    io.stderr.write(`telltale: ${(error as Error).message}\n`);
    return 1;
  }

  const total: ShipOutcome = { events: 0, logs: 0, failed: [] };
  let batches = 0;
  const bar = new cliProgress.SingleBar(
    {
      stream: io.stderr,
      format: `replay → ${target.sink.name} [{bar}] {value}/{total} batches | {events} events | {eta_formatted} left`,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  try {
    // A first pass counts, so the bar has a true total; the archive is listed instead of downloaded twice.
    let count = 0;
    if (archive === undefined) for await (const _ of items()) count += 1;
    bar.start(archive === undefined ? count : 0, 0, { events: 0 });
    let chunk: ReplayItem[] = [];
    const flush = async (): Promise<void> => {
      if (chunk.length === 0) return;
      const outcome = await shipItems(target.sink, chunk);
      total.events += outcome.events;
      total.logs += outcome.logs;
      total.failed.push(...outcome.failed);
      batches += chunk.length;
      if (archive !== undefined) bar.setTotal(batches);
      bar.update(batches, { events: total.events });
      chunk = [];
    };
    for await (const item of items()) {
      chunk.push(item);
      if (chunk.length >= CHUNK) await flush();
    }
    await flush();
    bar.stop();
  } catch (error) {
    bar.stop();
    io.stderr.write(`telltale: replay stopped after ${batches} batches: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await target.close();
  }

  for (const failure of total.failed.slice(0, 20))
    io.stderr.write(`failed ${failure.origin}: ${failure.reason}\n`);
  if (total.failed.length > 20) io.stderr.write(`… and ${total.failed.length - 20} more\n`);
  io.stdout.write(
    `replayed ${total.events} events and ${total.logs} server logs from ${batches - total.failed.length} batches ` +
      `to ${target.sink.name} (received ${new Date(since).toISOString()} – ${new Date(until).toISOString()}` +
      `${fromArchive ? ', from the Blob archive' : ''})` +
      `${total.failed.length > 0 ? `; ${total.failed.length} failed` : ''}\n`,
  );
  return total.failed.length === 0 ? 0 : 1;
}

export const replayCommand: Command = {
  summary: 'ship stored batches again into one sink (--sink NAME --since TIME), with a progress bar',
  run,
};
