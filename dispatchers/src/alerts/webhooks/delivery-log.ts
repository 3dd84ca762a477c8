import type { WebhookDestination } from '@telltale/protocol';
import { summary } from '../alert-index.js';
import type { AlertLog, AlertRecord, WebhookDelivery } from '../alert-log-types.js';

/** An app's webhooks, by app id (from the apps file, see settings.ts). */
export type AppWebhooks = ReadonlyMap<string, readonly WebhookDestination[]>;

/** Later states win; between two lines of one state, the one with more attempts. */
const RANK: Record<WebhookDelivery['status'], number> = { pending: 0, failing: 1, sent: 2, failed: 2 };
export const isFinished = (delivery: WebhookDelivery): boolean => RANK[delivery.status] === 2;

/**
 * Folds two views of an alert's deliveries into one, whatever their order: a line written from an
 * older view (the email's `sent` line built before a webhook answered) never takes a delivery back.
 */
export function mergeDeliveries(
  a: Record<string, WebhookDelivery> | undefined,
  b: Record<string, WebhookDelivery> | undefined,
): Record<string, WebhookDelivery> | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const merged = { ...a };
  for (const [id, next] of Object.entries(b)) {
    const current = merged[id];
    if (
      current === undefined ||
      RANK[next.status] > RANK[current.status] ||
      (RANK[next.status] === RANK[current.status] && next.attempts >= current.attempts)
    )
      merged[id] = next;
  }
  return merged;
}

/** The deliveries an alert starts with: every webhook of its apps, once each, `pending`. */
export function initialDeliveries(
  webhooks: AppWebhooks | undefined,
  apps: Iterable<string>,
): Record<string, WebhookDelivery> | undefined {
  if (webhooks === undefined || webhooks.size === 0) return undefined;
  const deliveries: Record<string, WebhookDelivery> = {};
  for (const app of apps)
    for (const destination of webhooks.get(app) ?? [])
      deliveries[destination.id] ??= {
        type: destination.type,
        host: destination.host,
        status: 'pending',
        attempts: 0,
      };
  return Object.keys(deliveries).length === 0 ? undefined : deliveries;
}

/** The alert log, with every line carrying the latest deliveries, and one delivery's change written as a whole line. */
export interface DeliveryLog extends AlertLog {
  /** Writes the alert's current line with this delivery changed (a whole line: compacted Kafka keeps only the last). */
  updateDelivery(
    key: string,
    id: string,
    change: (current: WebhookDelivery) => WebhookDelivery,
  ): Promise<void>;
}

/**
 * Wraps an alert log so that the email sender, the webhook sender and the decisions write one line at
 * a time, each built from the state every earlier line left: no line resets another's progress.
 */
export function withDeliveries(log: AlertLog): DeliveryLog {
  let tail: Promise<unknown> = Promise.resolve();
  function serial<T>(step: () => Promise<T>): Promise<T> {
    const run = tail.then(step);
    tail = run.catch(() => undefined);
    return run;
  }
  const rebase = (record: AlertRecord): AlertRecord => {
    const deliveries = mergeDeliveries(log.get(record.key)?.deliveries, record.deliveries);
    return deliveries === undefined ? record : { ...record, deliveries };
  };
  const wrapped = Object.create(log) as DeliveryLog;
  wrapped.append = (records) => serial(() => log.append(records.map(rebase)));
  wrapped.updateDelivery = (key, id, change) =>
    serial(async () => {
      const current = log.get(key);
      const delivery = current?.deliveries?.[id];
      if (current === undefined || delivery === undefined) return;
      // A pending email keeps its body in the line: a compacted topic may keep only this one.
      const base = current.status === 'pending' ? current : summary(current);
      const line: AlertRecord = { ...base, deliveries: { ...current.deliveries, [id]: change(delivery) } };
      await log.append([line]);
    });
  return wrapped;
}
