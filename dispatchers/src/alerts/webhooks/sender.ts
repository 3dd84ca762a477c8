import type { WebhookDestination } from '@telltale/protocol';
import { backoffDelay, MAIL_BACKOFF, type BackoffPolicy } from '../../pipeline/index.js';
import { summary } from '../alert-index.js';
import type { WebhookDelivery } from '../alert-log-types.js';
import { isFinished, type AppWebhooks, type DeliveryLog } from './delivery-log.js';
import { webhookRequest } from './payload.js';
import { postWebhook, WEBHOOK_TIMEOUT_MS, type PostResult } from './post.js';
import { createSendScheduler } from '../send-scheduler.js';

/** How webhooks are retried: the mail policy's backoff (1 s doubling to 10 min), given up after 20 tries (~2 h). */
export interface WebhookPolicy {
  backoff?: BackoffPolicy;
  maxAttempts?: number;
  timeoutMs?: number;
}
export const WEBHOOK_MAX_ATTEMPTS = 20;

export interface WebhookStats {
  sent: number;
  failures: number;
  /** Deliveries given up (a 4xx, a redirect, or every attempt failed). */
  failed: number;
  lastError: string | undefined;
}

/** Delivers each alert once to each of its webhooks, in the background, and logs every outcome. */
export interface WebhookSender {
  /** Sends every delivery of this alert not yet sent or given up, after `delayMs`. */
  scheduleAlert(key: string, delayMs: number): void;
  /** Resolves once every delivery scheduled to go now had its attempt (later retries aside). */
  idle(): Promise<void>;
  stats(): WebhookStats;
  close(): Promise<void>;
}

export function createWebhookSender(options: {
  log: DeliveryLog;
  webhooks: AppWebhooks;
  policy?: WebhookPolicy;
  onLogged?: () => void;
}): WebhookSender {
  const { log } = options;
  const backoff = options.policy?.backoff ?? MAIL_BACKOFF;
  const maxAttempts = options.policy?.maxAttempts ?? WEBHOOK_MAX_ATTEMPTS;
  const timeoutMs = options.policy?.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  const byId = new Map<string, WebhookDestination>();
  for (const list of options.webhooks.values()) for (const d of list) byId.set(d.id, d);
  const stats: WebhookStats = { sent: 0, failures: 0, failed: 0, lastError: undefined };
  // Answered 2xx, line not yet written: retry the line, never the request.
  const deliveredUnlogged = new Set<string>();
  // One lane per destination: one request at a time to each, and a slow Slack does not hold up Teams.
  const scheduler = createSendScheduler((error: unknown) => {
    stats.lastError = error instanceof Error ? error.message : String(error);
  });
  const schedule = (key: string, id: string, delayMs: number): void =>
    scheduler.schedule(`${id}\n${key}`, id, delayMs, () => sendOne(key, id));

  async function sendOne(key: string, id: string): Promise<void> {
    const record = log.get(key);
    const delivery = record?.deliveries?.[id];
    if (scheduler.closed() || record === undefined || delivery === undefined || isFinished(delivery)) return;
    const destination = byId.get(id);
    const slot = `${id}\n${key}`;
    const at = new Date().toISOString();
    const attempts = delivery.attempts + 1;
    let next: (current: WebhookDelivery) => WebhookDelivery;
    let retryIn: number | undefined;
    if (destination === undefined) {
      // Taken out of the apps file since the alert was decided: nowhere to send it.
      next = (c) => ({ ...c, status: 'failed', failedAt: at, lastError: 'not configured any more' });
    } else {
      const result = deliveredUnlogged.has(slot)
        ? ({ status: 'ok' } as const)
        : await post(destination, record);
      if (scheduler.closed() && result.status !== 'ok') return;
      if (result.status === 'ok') {
        if (!deliveredUnlogged.has(slot)) stats.sent += 1;
        deliveredUnlogged.add(slot);
        next = (c) => ({ ...c, status: 'sent', attempts: Math.max(c.attempts, attempts), sentAt: at });
      } else {
        stats.failures += 1;
        stats.lastError = result.error;
        const giveUp = result.status === 'rejected' || attempts >= maxAttempts;
        if (giveUp) stats.failed += 1;
        else retryIn = backoffDelay(attempts, backoff, result.retryAfterMs);
        next = (c) => ({
          ...c,
          status: giveUp ? 'failed' : 'failing',
          attempts,
          failedAt: at,
          lastError: result.error,
        });
      }
    }
    try {
      await log.updateDelivery(key, id, next);
      deliveredUnlogged.delete(slot);
      options.onLogged?.();
    } catch (error) {
      stats.lastError = error instanceof Error ? error.message : String(error);
      retryIn ??= backoffDelay(attempts, backoff);
    }
    if (retryIn !== undefined) schedule(key, id, retryIn);
  }

  /** One request; a throw building it counts as a failed attempt, so the delivery never stays pending. */
  async function post(
    destination: WebhookDestination,
    record: Parameters<typeof summary>[0],
  ): Promise<PostResult> {
    try {
      return await postWebhook(destination.url, webhookRequest(destination, summary(record)), timeoutMs);
    } catch (error) {
      return {
        status: 'retryable',
        error: `request not built (${error instanceof Error ? error.name : 'error'})`,
      };
    }
  }

  return {
    scheduleAlert(key, delayMs) {
      for (const [id, delivery] of Object.entries(log.get(key)?.deliveries ?? {}))
        if (!isFinished(delivery)) schedule(key, id, delayMs);
    },
    idle: () => scheduler.idle(),
    stats: () => ({ ...stats }),
    close: () => scheduler.close(),
  };
}
