/**
 * Alerting: the alerter and its alert log, emails (mailer, message), webhooks, and the Kafka mode's
 * candidates, deciders and log view. What the composition root, the dashboards' tests and this
 * package's tests use; import it from here, never from a file inside. Runtime dependencies on
 * ../pipeline/ and ../intelligence/.
 */
export {
  type AlertKind,
  type AlertListQuery,
  type AlertLog,
  alertLogFile,
  type AlertRecord,
  type AlertSummary,
  openAlertLog,
  type WebhookDelivery,
} from './alert-log.js';
export { type Alerter, type AlerterOptions, type AlerterStats, createAlerter } from './alerter.js';
export { createSubjectFilter } from './known-subjects.js';
export { createCandidatesSink, MAX_CANDIDATE_SEND_BYTES, trimCandidate } from './kafka/candidates.js';
export { type KafkaAlerts, startKafkaAlertReader, startKafkaAlerts } from './kafka/index.js';
export { kafkaAlertLog } from './kafka/kafka-log.js';
export {
  type AlertLogView,
  createLogPartition,
  foldLogRecord,
  foldOwnRecords,
  type LogPartition,
  startAlertLogView,
} from './kafka/log-view.js';
export type { SharedAlertState } from './kafka/shared-state.js';
export { createMailer, type Mailer } from './mailer.js';
export { alertKeys, composeAlert } from './message.js';
export { createSendScheduler, type SendScheduler } from './send-scheduler.js';
export { type AlertSettings, resolveAlertSettings } from './settings.js';
export {
  alertWebhookBody,
  mergeDeliveries,
  readAppWebhooks,
  slackPayload,
  webhookRequest,
} from './webhooks/index.js';
