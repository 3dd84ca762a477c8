import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { EnrichedEvent } from '../enrich/enrich.js';
import { backoffDelay, MAIL_BACKOFF, type BackoffPolicy } from '../retry.js';
import type { AlertLog, AlertRecord, AlertSummary } from './alert-log.js';
import { outboxDir, outboxFileName, type Mailer } from './mailer.js';
import { alertKey, composeAlert } from './message.js';

export interface AlerterStats {
  transport: Mailer['transport'];
  /** Alerts decided but not yet confirmed sent. */
  pending: number;
  /** Emails sent (or written to the outbox) since start. */
  sent: number;
  /** Failed send attempts since start; each is retried after a backoff. */
  failures: number;
  lastError: string | undefined;
}

export interface Alerter {
  /** Records the alerts these events raise (fsync'd) and queues their emails; never waits for SMTP. */
  process(events: readonly EnrichedEvent[]): Promise<void>;
  listAlerts(): Promise<AlertSummary[]>;
  /** The raw .eml text of an outbox alert; null for SMTP alerts and unknown keys. */
  readAlert(key: string): Promise<string | null>;
  stats(): AlerterStats;
  /** Stops retries and waits for an in-flight send. Pending alerts are sent at the next start. */
  close(): Promise<void>;
}

export interface AlerterOptions {
  dataDir: string;
  dashboardUrl: string;
  log: AlertLog;
  mailer: Mailer;
  backoff?: BackoffPolicy;
}

function messageId(key: string): string {
  return `<${createHash('sha256').update(key).digest('hex').slice(0, 32)}@telltale>`;
}

/**
 * Exactly one email per new error fingerprint and per first use of a feature: the decision is
 * logged as `pending` (fsync'd) before sending and as `sent` after, and the log survives restarts.
 * Sending runs in the background with backoff, so a dead SMTP server only delays the emails.
 */
export function createAlerter(options: AlerterOptions): Alerter {
  const { log, mailer } = options;
  const backoff = options.backoff ?? MAIL_BACKOFF;
  const timers = new Map<string, NodeJS.Timeout>();
  const attempts = new Map<string, number>();
  // Sent but the `sent` line could not be written yet: retry the line, never the email.
  const sentUnlogged = new Set<string>();
  let chain: Promise<void> = Promise.resolve();
  let closed = false;
  const stats = { sent: 0, failures: 0, lastError: undefined as string | undefined };

  function schedule(key: string, delayMs: number): void {
    if (closed || timers.has(key)) return;
    const timer = setTimeout(() => {
      timers.delete(key);
      // One send at a time: a burst of new errors must not open a burst of SMTP connections.
      chain = chain.then(() => sendOne(key)).catch(() => undefined);
    }, delayMs);
    timers.set(key, timer);
  }

  async function sendOne(key: string): Promise<void> {
    const record = log.get(key);
    if (closed || record === undefined || record.status === 'sent') return;
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
      const done: AlertRecord = { ...summaryOf(record), status: 'sent', transport: mailer.transport, sentAt };
      if (file !== undefined) done.file = file;
      else delete done.file;
      await log.append([done]);
      sentUnlogged.delete(key);
      attempts.delete(key);
    } catch (error) {
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      stats.failures += 1;
      stats.lastError = error instanceof Error ? error.message : String(error);
      schedule(key, backoffDelay(attempt, backoff));
    }
  }

  function summaryOf(record: AlertRecord): AlertSummary {
    const { messageId: _id, text: _text, html: _html, ...rest } = record;
    return rest;
  }

  // Alerts decided before a crash or shutdown and never confirmed sent.
  for (const record of log.pending()) schedule(record.key, 0);

  return {
    async process(events) {
      const fresh = new Map<string, AlertRecord>();
      for (const event of events) {
        const key = alertKey(event)?.key;
        // Most events repeat a known key: decide before rendering any email.
        if (key === undefined || log.has(key) || fresh.has(key)) continue;
        const message = composeAlert(event, options.dashboardUrl);
        if (message === undefined) continue;
        const createdAt = new Date().toISOString();
        const record: AlertRecord = {
          key: message.key,
          kind: message.kind,
          app: message.app,
          subject: message.subject,
          createdAt,
          status: 'pending',
          transport: mailer.transport,
          link: message.link,
          messageId: messageId(message.key),
          text: message.text,
          html: message.html,
        };
        if (mailer.transport === 'outbox')
          record.file = path.posix.join('outbox', outboxFileName(createdAt, message.key));
        fresh.set(message.key, record);
      }
      if (fresh.size === 0) return;
      await log.append([...fresh.values()]);
      for (const key of fresh.keys()) schedule(key, 0);
    },
    async listAlerts() {
      return log.list();
    },
    async readAlert(key) {
      const file = log.get(key)?.file;
      if (file === undefined) return null;
      // Only a bare file name inside outbox/: the key comes from a URL.
      return readFile(path.join(outboxDir(options.dataDir), path.basename(file)), 'utf8').catch(() => null);
    },
    stats() {
      return { transport: mailer.transport, pending: log.pending().length, ...stats };
    },
    async close() {
      closed = true;
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      await chain;
    },
  };
}
