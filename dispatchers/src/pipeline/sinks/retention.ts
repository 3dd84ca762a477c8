import { dropDeadLetterDaysBefore } from '../dead-letter.js';
import type { Sink } from './types.js';

const MS_PER_DAY = 86_400_000;

/** What retention last did for one sink (shown in the dispatcher's stats). */
export interface RetentionReport {
  sink: string;
  /** Days kept; 0 keeps everything. */
  days: number;
  lastRun: string | undefined;
  /** Partitions, days or prefixes dropped since start. */
  dropped: string[];
  lastError: string | undefined;
}

/** The first day kept when keeping `days` days: every day before it is dropped whole. */
export function retentionCutoff(now: number, days: number): string {
  return new Date(now - days * MS_PER_DAY).toISOString().slice(0, 10);
}

/** Drops the days a sink no longer keeps; a store that is down only records the error and is tried next time. */
export async function applyRetention(sink: Sink, report: RetentionReport, now = Date.now()): Promise<void> {
  if (report.days <= 0 || sink.dropDaysBefore === undefined) return;
  try {
    const dropped = await sink.dropDaysBefore(retentionCutoff(now, report.days));
    report.dropped.push(...dropped);
    report.lastError = undefined;
  } catch (error) {
    report.lastError = error instanceof Error ? error.message.split('\n')[0] : String(error);
  }
  report.lastRun = new Date(now).toISOString();
}

/** Retention of `<data>/dead-letter/`: its report is named `dead-letter` beside the sinks'. */
export const DEAD_LETTER_RETENTION = 'dead-letter';

/** Drops dead-letter day folders older than `report.days` days (0 keeps everything); errors are recorded. */
export async function applyDeadLetterRetention(
  dataDir: string,
  report: RetentionReport,
  now = Date.now(),
): Promise<void> {
  if (report.days <= 0) return;
  try {
    report.dropped.push(...(await dropDeadLetterDaysBefore(dataDir, retentionCutoff(now, report.days))));
    report.lastError = undefined;
  } catch (error) {
    report.lastError = error instanceof Error ? error.message.split('\n')[0] : String(error);
  }
  report.lastRun = new Date(now).toISOString();
}
