import type { Consumer as KafkaConsumer } from 'kafkajs';
import { backoffDelay, createSleeper, type BackoffPolicy } from '../../retry.js';

/**
 * A kafkajs consumer that is replaced when it dies for good. kafkajs restarts a consumer itself
 * only after a retriable error; after a non-retriable one (CRASH with `restart: false`) or a `run`
 * that rejects, it stays stopped. The keeper then disconnects it and builds, connects and runs a
 * new one after a capped, jittered backoff, forever until close().
 */
export interface ConsumerKeeper {
  /** The consumer of the current generation. */
  current(): KafkaConsumer;
  /** Increases with every consumer built: handlers of an older generation ignore what they see. */
  generation(): number;
  /** Consumers built after the first one. */
  restarts(): number;
  /** Ends a backoff at once and disconnects the current consumer. */
  close(): Promise<void>;
}

/** What a consumer's event handlers tell the keeper; nothing once a newer consumer exists. */
export interface MemberLife {
  /** It is dead for good (a CRASH that kafkajs does not restart): replace it. */
  died(cause: unknown): void;
}

export interface ConsumerKeeperOptions {
  /** A new consumer with its event handlers, which report to `life`. */
  build(generation: number, life: MemberLife): KafkaConsumer;
  /** connect, subscribe, run. */
  begin(consumer: KafkaConsumer, generation: number): Promise<void>;
  backoff: BackoffPolicy;
  /** A consumer died: forget what it had fetched (called once per death, before its replacement). */
  onDeath(cause: unknown): void;
  /** A replacement that failed to begin (it is retried after the next backoff). */
  onError(error: unknown): void;
}

/** Builds the first consumer and begins it; a first begin that fails disconnects it and throws. */
export async function keepConsumer(options: ConsumerKeeperOptions): Promise<ConsumerKeeper> {
  const sleeper = createSleeper();
  let generation = 1;
  let restarts = 0;
  let closing = false;
  // Set by died(), read by the supervising loop: a death reported while a replacement begins is not lost.
  let wanted = false;
  let supervising: Promise<void> | undefined;
  // Deaths in a row, each within two caps of the one before: a member that dies right after it
  // joined (a poison batch, a broker that keeps refusing) is replaced ever more slowly.
  let attempt = 0;
  let lastDeath = -Infinity;
  let closed!: () => void;
  const closedSignal = new Promise<void>((resolve) => (closed = resolve));

  const disconnect = (c: KafkaConsumer): Promise<void> => c.disconnect().catch(() => undefined);
  const build = (of: number): KafkaConsumer => options.build(of, { died: (cause) => died(of, cause) });
  let consumer = build(generation);

  function died(of: number, cause: unknown): void {
    if (of !== generation || closing) return;
    const now = Date.now();
    if (now - lastDeath > 2 * options.backoff.capMs) attempt = 0;
    lastDeath = now;
    options.onDeath(cause);
    wanted = true;
    supervising ??= supervise();
  }

  async function supervise(): Promise<void> {
    try {
      while (wanted && !closing) {
        wanted = false;
        const dead = consumer;
        generation += 1; // from here on the dead consumer's late events are ignored
        await disconnect(dead);
        if (closing) return; // close() woke no sleep yet: do not start one
        attempt += 1;
        await sleeper.sleep(backoffDelay(attempt, options.backoff));
        if (closing) return;
        restarts += 1;
        const next = build(generation);
        consumer = next;
        // A begin that hangs (connect retries a broker that is away) must not hold close() up.
        const began = options.begin(next, generation).then(
          () => true,
          (error: unknown) => {
            options.onError(error);
            return false;
          },
        );
        const ok = await Promise.race([began, closedSignal.then(() => false)]);
        if (closing) {
          void began.then(() => disconnect(next));
          return;
        }
        if (!ok) wanted = true;
      }
    } finally {
      supervising = undefined;
    }
  }

  try {
    await options.begin(consumer, generation);
  } catch (error) {
    closing = true;
    await supervising;
    await disconnect(consumer);
    throw error;
  }

  return {
    current: () => consumer,
    generation: () => generation,
    restarts: () => restarts,
    async close() {
      closing = true;
      closed();
      sleeper.wake();
      await supervising;
      await disconnect(consumer);
    },
  };
}
