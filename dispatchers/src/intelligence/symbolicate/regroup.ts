import type { EncodedEvents, EnrichedEvent, RawBatch, Sink } from '../../pipeline/index.js';
import { fingerprintError } from '../fingerprint.js';
import { parseStack } from '../stack.js';
import type { Symbolicator } from './symbolicator.js';

/** Rows → rows whose error fingerprints group on original code; async because maps are read from disk. */
export interface Regroup {
  (events: EnrichedEvent[]): Promise<EnrichedEvent[]>;
  /**
   * Whether any of these `app` NUL `release` keys (EncodedEvents.regroupable) has source maps, so
   * the rows may change: false lets a sink store the decode workers' bytes as they are.
   */
  mayChange(keys: ReadonlySet<string>): Promise<boolean>;
}

/**
 * Enrichment fingerprints errors on their stacks as reported; with source maps uploaded, this
 * fingerprints them again on the symbolicated frames (original functions and files), so the same
 * bug in two minified builds is one group. Only maps uploaded before the batch arrived count
 * (`uploadedBefore: receivedAt`), so every consumer and every replay computes the same fingerprint
 * for the same record. An app's own fingerprint (from the SDK) is kept as it is.
 */
/** An error source maps could give another fingerprint: one with a stack and a fingerprint of its own. */
const regroupable = (e: EnrichedEvent): boolean =>
  e.kind === 'error' && e.stack !== null && e.fingerprint !== null;
const releaseKey = (e: EnrichedEvent): string => `${e.app}\u0000${e.release}`;

/** `app` NUL `release` of the events regrouping would look up (EncodedEvents.regroupable), each once. */
export function regroupableKeys(events: readonly EnrichedEvent[]): string[] {
  const keys: string[] = [];
  for (const e of events) {
    if (!regroupable(e)) continue;
    const key = releaseKey(e);
    if (!keys.includes(key)) keys.push(key);
  }
  return keys;
}

export function createRegroup(symbolicator: Symbolicator): Regroup {
  const hasMaps = (key: string): Promise<boolean> => {
    const [app, release] = key.split('\u0000') as [string, string];
    return symbolicator.hasMaps(app, release);
  };
  const regroup = async (events: EnrichedEvent[]): Promise<EnrichedEvent[]> => {
    // Most releases have no maps: ask once per release and export, not once per error, and when
    // none of them has maps hand the rows back as they are (no await per row).
    const releasesWithMaps = new Map<string, Promise<boolean>>();
    for (const event of events) {
      const key = releaseKey(event);
      if (regroupable(event) && !releasesWithMaps.has(key))
        releasesWithMaps.set(key, symbolicator.hasMaps(event.app, event.release));
    }
    if (releasesWithMaps.size === 0) return events;
    const answers = await Promise.all(releasesWithMaps.values());
    const withMaps = new Set([...releasesWithMaps.keys()].filter((_, i) => answers[i]));
    if (withMaps.size === 0) return events;
    const out: EnrichedEvent[] = [];
    for (const event of events) {
      if (!regroupable(event) || !withMaps.has(releaseKey(event))) {
        out.push(event);
        continue;
      }
      const input = { type: event.errorType ?? 'Error', message: event.message ?? '', stack: event.stack! };
      // The stored fingerprint differs from the stack's own one only when the app chose it.
      if (fingerprintError(input) !== event.fingerprint) {
        out.push(event);
        continue;
      }
      const result = await symbolicator.symbolicate({
        app: event.app,
        release: event.release,
        frames: parseStack(event.stack!),
        uploadedBefore: event.receivedAt,
        explain: false,
      });
      out.push(
        result.frames.some((f) => f.symbolicated)
          ? { ...event, fingerprint: fingerprintError({ ...input, frames: result.frames }) }
          : event,
      );
    }
    return out;
  };
  return Object.assign(regroup, {
    mayChange: async (keys: ReadonlySet<string>) =>
      keys.size > 0 && (await Promise.all([...keys].map(hasMaps))).some(Boolean),
  });
}

/** A sink that stores regrouped rows: same name, batching and retention, one more step before export. */
export function regroupingSink(sink: Sink, regroup: Regroup): Sink {
  const exportServerLogs = sink.exportServerLogs?.bind(sink);
  const exportEncoded = sink.exportEncoded?.bind(sink);
  const dropDaysBefore = sink.dropDaysBefore?.bind(sink);
  return {
    name: sink.name,
    ...(sink.batching === undefined ? {} : { batching: sink.batching }),
    export: async (events, raw) => sink.export(await regroup(events), raw),
    ...(sink.encoding === undefined || exportEncoded === undefined
      ? {}
      : {
          encoding: sink.encoding,
          // The workers' bytes carry the stacks' own fingerprints: good unless a release has maps.
          exportEncoded: async (batch: EncodedEvents, raw?: readonly RawBatch[]) =>
            (await regroup.mayChange(batch.regroupable))
              ? sink.export(await regroup(await batch.events()), raw)
              : exportEncoded(batch, raw),
        }),
    ...(exportServerLogs === undefined ? {} : { exportServerLogs }),
    ...(dropDaysBefore === undefined ? {} : { dropDaysBefore }),
    close: () => sink.close(),
  };
}
