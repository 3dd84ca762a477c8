import { readFile } from 'node:fs/promises';
import type { DeadLetterReplayReport, DeadLetterSummary } from '@telltale/protocol';
import {
  listDeadLetterConsumers,
  markReplayed,
  readDeadLetters,
  type DeadLetterEntry,
  type SpoolContent,
  type SinkFactoryDeps,
} from './pipeline/index.js';
import { isSinkKind, openReplaySink, shipItems } from './replay.js';

export type { DeadLetterReplayReport, DeadLetterSummary };

/**
 * The dead-letter replay (`telltale dlq replay`, the /health page's replay button): each entry's
 * scrubbed copy goes again to its consumer's sink through the live consumers' pipeline (regrouping,
 * breaker: openReplaySink); entries that go through move to replayed/ in their day folder.
 */

/** `clickhouse.server` → sink clickhouse reading server logs; `alerts` and `blob-source` have no sink. */
export function deadLetterTarget(consumer: string): { sink: string; content: SpoolContent } | undefined {
  const [sink = '', suffix] = consumer.split('.');
  if (!isSinkKind(sink)) return undefined;
  return { sink, content: suffix === 'server' ? 'server' : suffix === 'blob' ? 'mixed' : 'client' };
}

/** Of a payload that was not JSON only its scrubbed text is kept: nothing a sink could take. */
const replayable = (entry: DeadLetterEntry): boolean =>
  deadLetterTarget(entry.consumer) !== undefined && entry.payload?.format !== 'text';

/** What is parked in the data dir's dead-letter folders, per consumer (on disk, so across restarts). */
export async function summarizeDeadLetters(dataDir: string): Promise<DeadLetterSummary[]> {
  const out: DeadLetterSummary[] = [];
  for (const consumer of await listDeadLetterConsumers(dataDir)) {
    const entries = await readDeadLetters(dataDir, consumer);
    if (entries.length === 0) continue;
    const codes: Record<string, number> = {};
    for (const e of entries) codes[e.code] = (codes[e.code] ?? 0) + 1;
    const times = entries.map((e) => e.time).sort();
    out.push({
      consumer,
      entries: entries.length,
      replayable: entries.filter(replayable).length,
      codes,
      oldest: times[0] ?? null,
      newest: times.at(-1) ?? null,
    });
  }
  return out;
}

export interface DeadLetterReplayOptions {
  dataDir: string;
  /** One consumer's entries; all consumers when omitted. */
  consumer?: string;
  /** One entry by name. */
  entry?: string;
  env: NodeJS.ProcessEnv;
  /** In the running server: its DuckDB instance (one writer per file), so no second one is opened. */
  deps?: SinkFactoryDeps;
  /** How long one entry may wait for a sink that answers "retry", ms (default 60 s). */
  deadlineMs?: number;
  /** Called with each line as soon as it is known (the CLI prints progress while a long replay runs). */
  onLine?: (line: string) => void;
}

export async function replayDeadLetters(options: DeadLetterReplayOptions): Promise<DeadLetterReplayReport> {
  const { dataDir } = options;
  const consumers =
    options.consumer === undefined ? await listDeadLetterConsumers(dataDir) : [options.consumer];
  let entries: DeadLetterEntry[] = [];
  for (const name of consumers) entries.push(...(await readDeadLetters(dataDir, name)));
  if (options.entry !== undefined) entries = entries.filter((e) => e.name === options.entry);
  const report: DeadLetterReplayReport = { replayed: 0, left: 0, lines: [] };
  const say = (line: string): void => {
    report.lines.push(line);
    options.onLine?.(line);
  };
  const bySink = new Map<string, DeadLetterEntry[]>();
  for (const entry of entries) {
    const target = deadLetterTarget(entry.consumer);
    if (target === undefined) {
      // alerts re-decide from the spool on their own; a poison blob needs a fixed upload under a new name
      say(
        `skip ${entry.consumer}/${entry.name}: ${entry.consumer} has no sink to replay into (kept for inspection)`,
      );
      report.left += 1;
      continue;
    }
    bySink.set(target.sink, [...(bySink.get(target.sink) ?? []), entry]);
  }
  for (const [sinkName, group] of bySink) {
    const target = await openReplaySink(sinkName, {
      dataDir,
      env: options.env,
      ...(options.deps === undefined ? {} : { deps: options.deps }),
    });
    try {
      for (const entry of group) {
        if (entry.payload?.format === 'text') {
          report.left += 1;
          say(
            `still failing ${entry.consumer}/${entry.name}: ${entry.code}: not JSON (${entry.payload.bytes} bytes, ` +
              `sha256 ${entry.payload.sha256.slice(0, 16)}…); only its scrubbed text is kept, for inspection`,
          );
          continue;
        }
        const content = deadLetterTarget(entry.consumer)!.content;
        const payload = await readFile(entry.payloadFile);
        const outcome = await shipItems(
          target.sink,
          [{ origin: entry.name, payload, content }],
          options.deadlineMs ?? 60_000,
        ).catch((error: unknown) => ({
          events: 0,
          logs: 0,
          failed: [{ origin: entry.name, reason: (error as Error).message }],
        }));
        if (outcome.failed.length === 0) {
          await markReplayed(entry);
          report.replayed += 1;
          say(
            `replayed ${entry.consumer}/${entry.name}: ${outcome.events} events, ${outcome.logs} server logs`,
          );
        } else {
          report.left += 1;
          say(`still failing ${entry.consumer}/${entry.name}: ${outcome.failed[0]!.reason}`);
        }
      }
    } finally {
      await target.close();
    }
  }
  return report;
}
