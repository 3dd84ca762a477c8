import { createHash } from 'node:crypto';
import path from 'node:path';
import { backoffDelay, type BackoffPolicy } from '../pipeline/index.js';
import type { AlertLog, AlertRecord } from './alert-log.js';
import { summary } from './alert-index.js';
import { outboxFileName, type Mailer } from './mailer.js';
import { createSendScheduler } from './send-scheduler.js';

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
  const attempts = new Map<string, number>();
  // Sent but the `sent` line could not be written yet: retry the line, never the email.
  const sentUnlogged = new Set<string>();
  // One lane: one send at a time, so a burst of new errors never opens a burst of SMTP connections.
  const scheduler = createSendScheduler();
  const schedule = (key: string, delayMs: number): void =>
    scheduler.schedule(key, 'mail', delayMs, () => sendOne(key));

  async function sendOne(key: string): Promise<void> {
    const record = log.get(key);
    if (scheduler.closed() || record === undefined || record.status !== 'pending') return;
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
    idle: () => scheduler.idle(),
    close: () => scheduler.close(),
  };
}
