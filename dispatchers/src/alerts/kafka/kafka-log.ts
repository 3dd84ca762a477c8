import type { Producer } from 'kafkajs';
import type { AlertLog, AlertRecord, SeenMarker } from '../alert-log.js';
import { foldOwnRecords, markOwn, type LogPartition } from './log-view.js';

/** Kafka's default max.message.bytes is ~1 MB per record batch: appends are split below it, counted in UTF-8 bytes. */
const MAX_SEND_BYTES = 768 * 1024;

/**
 * The alert log of one partition, kept in the alert-log topic: appends are produced with acks=-1 to
 * that partition (the one its candidates arrive on, so ownership of the candidates is ownership of
 * the log) and count only once Kafka acknowledged them; reads come from the folded partition. The
 * broker compacts (cleanup.policy=compact), so `needsCompaction` is never true here; retention
 * writes a key-only marker over each expired alert, which compaction then keeps alone.
 */
export function kafkaAlertLog(options: { producer: Producer; topic: string; state: LogPartition }): AlertLog {
  const { producer, topic, state } = options;
  const { index } = state;
  let lines = 0;
  let tail: Promise<unknown> = Promise.resolve();
  function serial<T>(step: () => Promise<T>): Promise<T> {
    const run = tail.then(step);
    tail = run.catch(() => undefined);
    return run;
  }

  async function produce(values: ReadonlyArray<{ key: string; value: string }>): Promise<number> {
    const [meta] = await producer.send({
      topic,
      acks: -1,
      messages: values.map(({ key, value }) => ({ key, value, partition: state.partition })),
    });
    if (meta === undefined) throw new Error(`no acknowledgement from ${topic}/${state.partition}`);
    lines += values.length;
    return Number(meta.baseOffset);
  }

  /** Chunks below the batch limit, each folded in once acknowledged. */
  async function appendRecords(records: readonly AlertRecord[]): Promise<void> {
    let chunk: AlertRecord[] = [];
    let values: Array<{ key: string; value: string }> = [];
    let bytes = 0;
    const flush = async (): Promise<void> => {
      if (values.length === 0) return;
      foldOwnRecords(state, await produce(values), chunk);
      chunk = [];
      values = [];
      bytes = 0;
    };
    for (const record of records) {
      const value = JSON.stringify(record);
      const size = Buffer.byteLength(record.key) + Buffer.byteLength(value);
      if (bytes + size > MAX_SEND_BYTES) await flush();
      chunk.push(record);
      values.push({ key: record.key, value });
      bytes += size;
    }
    await flush();
  }

  return {
    file: `kafka:${topic}/${state.partition}`,
    has: index.has,
    get: index.get,
    pending: () => index.withStatus('pending'),
    withStatus: index.withStatus,
    count: index.count,
    list: index.list,
    newest: index.newest,
    append: (batch) => (batch.length === 0 ? Promise.resolve() : serial(() => appendRecords(batch))),
    size: () => ({ lines, ...index.size() }),
    needsCompaction: () => false,
    hasExpired: index.hasExpired,
    compact: (options = {}) =>
      serial(async () => {
        const { expired } = index.planExpiry(options.retainSince);
        if (expired.size > 0) {
          const markers = [...expired].map((key): { key: string; value: string } => ({
            key,
            value: JSON.stringify({ key, seen: true } satisfies SeenMarker),
          }));
          for (let i = 0; i < markers.length; i += 1_000) {
            const slice = markers.slice(i, i + 1_000);
            markOwn(state, await produce(slice), slice.length);
          }
          index.dropExpired(expired);
        }
        return { expired: expired.size, lines };
      }),
    close: async () => {
      await tail;
    },
  };
}
