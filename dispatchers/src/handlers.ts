import type { SpoolPosition } from '@telltale/spool';
import type { Alerter } from './alerts/alerter.js';
import type { DeadLetterWriter } from './dead-letter.js';
import { decodeEnvelope } from './decode.js';
import { enrichEnvelope, type EnrichedEvent } from './enrich/enrich.js';
import type { Sink } from './sinks/types.js';
import type { HandleResult, RecordHandler, SourceRecord } from './sources/types.js';

type Rec = SourceRecord<SpoolPosition>;

export interface HandlerCounters {
  /** Events the sink accepted (duplicates included: the store drops them). */
  events: number;
  lastError: string | undefined;
}

interface Decoded {
  record: Rec;
  events: EnrichedEvent[];
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Decodes and enriches records; poison goes to the dead-letter folder (durably) and is left out.
 * Remembers its answer per record object, so a retried batch is not dead-lettered twice.
 */
function createDecoder(deadLetter: DeadLetterWriter): (records: readonly Rec[]) => Promise<Decoded[]> {
  const seen = new WeakMap<Rec, EnrichedEvent[] | null>();
  return async (records) => {
    const decoded: Decoded[] = [];
    for (const record of records) {
      let events = seen.get(record);
      if (events === undefined) {
        const result = decodeEnvelope(record.payload);
        if (result.ok) {
          try {
            events = enrichEnvelope(result.envelope);
          } catch (error) {
            await deadLetter.write(record.position, record.payload, 'enrich_failed', describe(error));
            events = null;
          }
        } else {
          // Poison never blocks the stream: park it with its reason and go on.
          await deadLetter.write(record.position, record.payload, result.code, result.reason);
          events = null;
        }
        seen.set(record, events);
      }
      if (events !== null) decoded.push({ record, events });
    }
    return decoded;
  };
}

function retryOf(result: { retryAfterMs?: number }): HandleResult {
  return result.retryAfterMs === undefined ? 'retry' : { retryAfterMs: result.retryAfterMs };
}

/** Spool records → one sink. Retryable: the same records again later. Rejected: find the bad records, dead-letter them, go on. */
export function createSinkHandler(
  sink: Sink,
  deadLetter: DeadLetterWriter,
  counters: HandlerCounters,
): RecordHandler<SpoolPosition> {
  const decode = createDecoder(deadLetter);
  return async (records) => {
    const decoded = await decode(records);
    const events = decoded.flatMap((d) => d.events);
    if (events.length === 0) return 'done';
    const result = await sink.export(events);
    if (result.status === 'ok') {
      counters.events += events.length;
      return 'done';
    }
    counters.lastError = `${sink.name}: ${result.reason}`;
    if (result.status === 'retryable') return retryOf(result);
    // Rejected as a whole: export record by record so one bad batch does not take its neighbours down.
    for (const { record, events: recordEvents } of decoded) {
      const single = decoded.length === 1 ? result : await sink.export(recordEvents);
      if (single.status === 'ok') counters.events += recordEvents.length;
      else if (single.status === 'retryable')
        return retryOf(single); // the exported ones dedupe on retry
      else
        await deadLetter.write(
          record.position,
          record.payload,
          'sink_rejected',
          `${sink.name}: ${single.reason}`,
        );
    }
    return 'done';
  };
}

/** Spool records → alert decisions. Alerts ride on their own checkpoint, so SMTP never holds back the sinks. */
export function createAlertHandler(
  alerter: Alerter,
  deadLetter: DeadLetterWriter,
): RecordHandler<SpoolPosition> {
  const decode = createDecoder(deadLetter);
  return async (records) => {
    const decoded = await decode(records);
    await alerter.process(decoded.flatMap((d) => d.events));
    return 'done';
  };
}
