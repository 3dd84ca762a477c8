import type { Producer } from 'kafkajs';
import { LRUCache } from 'lru-cache';
import { LIMITS } from '@telltale/protocol';
import type { EnrichedEvent, Sink } from '../../pipeline/index.js';
import { type Regroup, isRegression } from '../../intelligence/index.js';
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
/**
 * Bytes (UTF-8, key and value) per produce request: below the broker's default message.max.bytes
 * (1,048,588), with room for the record batch's own framing. A single candidate over it is rejected.
 */
export const MAX_CANDIDATE_SEND_BYTES = 900 * 1024;
/**
 * Texts a candidate keeps: message, page and stack as far as the deciders ever read them (mute rules
 * match the first maxStringLength chars, parseStack reads as many), assert diagnostics as far as an
 * email shows them. Breadcrumbs never travel: nothing in a decision or an email reads them.
 */
export const CANDIDATE_TEXT_CHARS = LIMITS.maxStringLength;
export const CANDIDATE_ATTRS_CHARS = 4096;
/** Keys this process forwarded, remembered so repeats do not travel again (bounded: names come from senders). */
const MAX_FORWARDED_KEYS = 100_000;

function cap(text: string | null, chars: number, marker = ''): string | null {
  return text === null || text.length <= chars ? text : `${text.slice(0, chars)}${marker}`;
}

/**
 * What a decider needs of an event to decide its alerts and compose the email (alerter.ts,
 * message.ts, mute-rules.ts): the event without its breadcrumbs, its long texts capped. The
 * email composed from it is the one composed from the full event.
 */
export function trimCandidate(event: EnrichedEvent): EnrichedEvent {
  return {
    ...event,
    message: cap(event.message, CANDIDATE_TEXT_CHARS),
    url: cap(event.url, CANDIDATE_TEXT_CHARS),
    stack: cap(event.stack, CANDIDATE_TEXT_CHARS),
    attrs: cap(event.attrs, CANDIDATE_ATTRS_CHARS, '…'),
    breadcrumbs: null,
  };
}

/** kafkajs wraps a broker's answer (KafkaJSNonRetriableError, aggregate errors): look through the causes. */
function isTooLarge(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 4) return false;
  const e = error as { type?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown };
  if (e.type === 'MESSAGE_TOO_LARGE') return true;
  const nested = [e.cause, e.originalError, ...(Array.isArray(e.errors) ? (e.errors as unknown[]) : [])];
  return nested.some((inner) => inner !== error && isTooLarge(inner, depth + 1));
}

interface Outgoing {
  key: string;
  value: string;
  bytes: number;
  /** Alert keys it carries, remembered as forwarded once Kafka acknowledged it. */
  alerts: string[];
}

export interface CandidateStats {
  /** Events produced to the candidates topic, and events skipped as already decided or forwarded. */
  forwarded: number;
  skipped: number;
  /** Candidates over MAX_CANDIDATE_SEND_BYTES, or refused by the broker as too large: their records are dead-lettered. */
  rejected: number;
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
  const stats: CandidateStats = { forwarded: 0, skipped: 0, rejected: 0 };

  /** Acknowledged candidates count as forwarded at once, so a retry of the records skips them. */
  async function produce(chunk: readonly Outgoing[]): Promise<void> {
    await producer.send({ topic, acks: -1, messages: chunk.map(({ key, value }) => ({ key, value })) });
    for (const message of chunk) for (const key of message.alerts) forwarded.set(key, true);
    stats.forwarded += chunk.length;
  }

  /** Sends in requests below the cap; answers the candidates that can never be sent (too large). */
  async function send(messages: readonly Outgoing[]): Promise<Outgoing[]> {
    const refused: Outgoing[] = [];
    const flush = async (chunk: Outgoing[]): Promise<void> => {
      if (chunk.length === 0) return;
      try {
        await produce(chunk);
      } catch (error) {
        // Retrying a message the broker refuses as too large would wedge the partition forever.
        if (!isTooLarge(error)) throw error;
        if (chunk.length === 1) refused.push(chunk[0]!);
        else for (const message of chunk) await flush([message]);
      }
    };
    let chunk: Outgoing[] = [];
    let bytes = 0;
    for (const message of messages) {
      if (message.bytes > MAX_CANDIDATE_SEND_BYTES) {
        refused.push(message);
        continue;
      }
      if (chunk.length > 0 && bytes + message.bytes > MAX_CANDIDATE_SEND_BYTES) {
        await flush(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(message);
      bytes += message.bytes;
    }
    await flush(chunk);
    return refused;
  }

  return {
    name: 'alerts',
    async export(input) {
      try {
        await state.refresh();
        // Fingerprints on original frames, as the sinks store them (idempotent: a regrouped row stays).
        const events = options.regroup === undefined ? input : await options.regroup([...input]);
        const perSubject = new Map<string, number>();
        const messages: Outgoing[] = [];
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
          const value = JSON.stringify(trimCandidate(event));
          const bytes = Buffer.byteLength(subject) + Buffer.byteLength(value);
          messages.push({ key: subject, value, bytes, alerts: open.map((a) => a.key) });
        }
        if (messages.length === 0) return { status: 'ok' };
        const refused = await send(messages);
        if (refused.length === 0) return { status: 'ok' };
        // The others are acknowledged and remembered: the handler's record-by-record retry finds
        // them forwarded and dead-letters only the records of these.
        stats.rejected += refused.length;
        const sizes = refused.map((m) => `${m.key} (${m.bytes} bytes)`).join(', ');
        return {
          status: 'rejected',
          reason: `alert candidates too large for Kafka (cap ${MAX_CANDIDATE_SEND_BYTES} bytes, or refused by the broker): ${sizes.slice(0, 500)}`,
        };
      } catch (error) {
        return { status: 'retryable', reason: error instanceof Error ? error.message : String(error) };
      }
    },
    stats: () => ({ ...stats }),
    close: async () => undefined,
  };
}
