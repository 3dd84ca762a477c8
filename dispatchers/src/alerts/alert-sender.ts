import { createHash } from 'node:crypto';
import path from 'node:path';
import { backoffDelay, type BackoffPolicy } from '../pipeline/index.js';
import type { AlertLog, AlertRecord } from './alert-log.js';
import { summary } from './alert-index.js';
import { outboxFileName, type Mailer } from './mailer.js';

/** Stable per alert key, so a re-send after a crash is recognisable as the same message. */
export function messageId(key: string): string {
  return `<${createHash('sha256').update(key).digest('hex').slice(0, 32)}@telltale>`;
}

export interface SendStats {
  sent: number;
  failures: number;
  lastError: string | undefined;
}

/** Sends pending alerts one at a time, retried with backoff, and logs each as `sent` once accepted. */
export interface AlertSender {
  /** Sends the pending alert of this key after `delayMs` (no-op if already scheduled). */
  schedule(key: string, delayMs: number): void;
  /** Resolves once every alert scheduled to go now had its attempt (retries after a backoff aside). */
  idle(): Promise<void>;
  /** Stops retries and waits for an in-flight send. */
  close(): Promise<void>;
}

export function createAlertSender(options: {
  log: AlertLog;
  mailer: Mailer;
  backoff: BackoffPolicy;
  stats: SendStats;
  /** After each `sent` line: the log may want a rewrite. */
  onLogged: () => void;
}): AlertSender {
  const { log, mailer, backoff, stats } = options;
  const timers = new Map<string, NodeJS.Timeout>();
  const attempts = new Map<string, number>();
  // Sent but the `sent` line could not be written yet: retry the line, never the email.
  const sentUnlogged = new Set<string>();
  let chain: Promise<void> = Promise.resolve();
  let closed = false;
  // Attempts due now (not a backoff's later retry) and not yet made: what idle() waits for.
  let due = 0;
  let waiters: Array<() => void> = [];
  const settle = (): void => {
    due -= 1;
    if (due > 0) return;
    for (const resolve of waiters.splice(0)) resolve();
  };

  function schedule(key: string, delayMs: number): void {
    if (closed || timers.has(key)) return;
    const now = delayMs <= 0;
    if (now) due += 1;
    const timer = setTimeout(() => {
      timers.delete(key);
      // One send at a time: a burst of new errors must not open a burst of SMTP connections.
      chain = chain
        .then(() => sendOne(key))
        .catch(() => undefined)
        .finally(() => {
          if (now) settle();
        });
    }, delayMs);
    timers.set(key, timer);
  }

  async function sendOne(key: string): Promise<void> {
    const record = log.get(key);
    if (closed || record === undefined || record.status !== 'pending') return;
    const sentAt = new Date().toISOString();
    const file =
      mailer.transport === 'outbox'
        ? (record.file ?? path.posix.join('outbox', outboxFileName(record.createdAt, key)))
        : undefined;
    try {
      if (!sentUnlogged.has(key)) {
        await mailer.send({
          subject: record.subject,
          text: record.text ?? record.subject,
          html: record.html,
          messageId: record.messageId ?? messageId(key),
          date: new Date(record.createdAt),
          file,
        });
        sentUnlogged.add(key);
        stats.sent += 1;
      }
      const done: AlertRecord = { ...summary(record), status: 'sent', transport: mailer.transport, sentAt };
      if (file !== undefined) done.file = file;
      else delete done.file;
      await log.append([done]);
      sentUnlogged.delete(key);
      attempts.delete(key);
      options.onLogged();
    } catch (error) {
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      stats.failures += 1;
      stats.lastError = error instanceof Error ? error.message : String(error);
      schedule(key, backoffDelay(attempt, backoff));
    }
  }

  return {
    schedule,
    idle: () => (due <= 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve))),
    async close() {
      closed = true;
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      due = 0;
      for (const resolve of waiters.splice(0)) resolve();
      waiters = [];
      await chain;
    },
  };
}
