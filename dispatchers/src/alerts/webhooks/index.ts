/** Alert webhooks: signed JSON, Slack and Teams, fed by the alert log (see docs/alerts.md). */
export {
  initialDeliveries,
  mergeDeliveries,
  withDeliveries,
  type AppWebhooks,
  type DeliveryLog,
} from './delivery-log.js';
export {
  alertWebhookBody,
  signatureHeader,
  slackPayload,
  teamsPayload,
  webhookRequest,
  type AlertWebhookBody,
  type WebhookRequest,
} from './payload.js';
export { postWebhook, WEBHOOK_TIMEOUT_MS, type PostResult } from './post.js';
export {
  createWebhookSender,
  WEBHOOK_MAX_ATTEMPTS,
  type WebhookPolicy,
  type WebhookSender,
  type WebhookStats,
} from './sender.js';
export { readAppWebhooks } from './config.js';
