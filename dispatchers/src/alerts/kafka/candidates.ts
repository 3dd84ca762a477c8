import type { Producer } from 'kafkajs';
import { LRUCache } from 'lru-cache';
import type { EnrichedEvent } from '../../enrich/enrich.js';
import type { Sink } from '../../sinks/types.js';
import type { Regroup } from '../../symbolicate/regroup.js';
import { isRegression } from '../group-state.js';
import { alertKeys } from '../message.js';
import type { SharedAlertState } from './shared-state.js';

/**
 * What an event alerts about: every alert key of one subject (new error and its regressions, first
 * use and first use per account) lands on one partition of the candidates topic, so one decider
 * owns them all.
 */
export function subjectKey(event: EnrichedEvent): string | undefined {
  if (event.kind === 'error' && event.fingerprint !== null) return `${event.app}:error:${event.fingerprint}`;
  if (event.kind === 'feature' && event.name !== null) return `${event.app}:feature:${event.name}`;
  if (event.kind === 'assert' && event.name !== null) return `${event.app}:assert:${event.name}`;
  return undefined;
}

/** Occurrences of one subject per export that travel on: enough for "how many users" in the email. */
const MAX_EVENTS_PER_SUBJECT = 20;
/** Kafka's default max.message.bytes is ~1 MB per record batch: sends are split below it. */
const MAX_SEND_BYTES = 768 * 1024;
/** Keys this process forwarded, remembered so repeats do not travel again (bounded: names come from senders). */
const MAX_FORWARDED_KEYS = 100_000;

export interface CandidateStats {
  /** Events produced to the candidates topic, and events skipped as already decided or forwarded. */
  forwarded: number;
  skipped: number;
}

export interface CandidatesSink extends Sink {
  stats(): CandidateStats;
}

/**
 * Stage 1 of the Kafka alerts, on every dispatcher: each event that could raise an alert not yet
 * known to be decided is produced (acks=-1) to the candidates topic keyed by its subject; `ok`
 * only once Kafka acknowledged, so the source commits nothing a decider will not see. Repeats of
 * decided keys (the alert-log view) and of keys forwarded within the last window stay here, so the
 * candidate stream stays small. The window bounds the memory, and lets a key that was over the
 * per-app cap travel again in a later window, as the local alerter would re-consider it.
 */
export function createCandidatesSink(options: {
  producer: Producer;
  topic: string;
  state: SharedAlertState;
  /** True when the alert log (any partition) holds the key. */
  decided: (key: string) => boolean;
  regroup?: Regroup | undefined;
  firstUsePerAccount: boolean;
  forgetAfterMs: number;
}): CandidatesSink {
  const { producer, topic, state } = options;
  const forwarded = new LRUCache<string, true>({ max: MAX_FORWARDED_KEYS, ttl: options.forgetAfterMs });
  const stats: CandidateStats = { forwarded: 0, skipped: 0 };

  async function send(messages: ReadonlyArray<{ key: string; value: string }>): Promise<void> {
    let chunk: Array<{ key: string; value: string }> = [];
    let bytes = 0;
    for (const message of messages) {
      if (chunk.length > 0 && bytes + message.value.length > MAX_SEND_BYTES) {
        await producer.send({ topic, acks: -1, messages: chunk });
        chunk = [];
        bytes = 0;
      }
      chunk.push(message);
      bytes += message.value.length;
    }
    if (chunk.length > 0) await producer.send({ topic, acks: -1, messages: chunk });
  }

  return {
    name: 'alerts',
    async export(input) {
      try {
        await state.refresh();
        // Fingerprints on original frames, as the sinks store them (idempotent: a regrouped row stays).
        const events = options.regroup === undefined ? input : await options.regroup([...input]);
        const perSubject = new Map<string, number>();
        const messages: Array<{ key: string; value: string }> = [];
        const keys: string[] = [];
        for (const event of events) {
          const subject = subjectKey(event);
          if (subject === undefined) continue;
          const group =
            event.kind === 'error' && event.fingerprint !== null
              ? state.groups.get(event.app, event.fingerprint)
              : undefined;
          const resolution = isRegression(group, event) ? group?.resolution : undefined;
          const raised = alertKeys(event, { firstUsePerAccount: options.firstUsePerAccount, resolution });
          const open = raised.filter((a) => !forwarded.has(a.key) && !options.decided(a.key));
          const count = perSubject.get(subject) ?? 0;
          if (group?.status === 'ignored' || open.length === 0 || count >= MAX_EVENTS_PER_SUBJECT) {
            stats.skipped += 1;
            continue;
          }
          perSubject.set(subject, count + 1);
          messages.push({ key: subject, value: JSON.stringify(event) });
          keys.push(...open.map((a) => a.key));
        }
        if (messages.length === 0) return { status: 'ok' };
        await send(messages);
        for (const key of keys) forwarded.set(key, true);
        stats.forwarded += messages.length;
        return { status: 'ok' };
      } catch (error) {
        return { status: 'retryable', reason: error instanceof Error ? error.message : String(error) };
      }
    },
    stats: () => ({ ...stats }),
    close: async () => undefined,
  };
}
