export { LIMITS, PROTOCOL_VERSION } from './limits.js';
export {
  AttributesSchema,
  BreadcrumbSchema,
  LogLevelSchema,
  ErrorEventSchema,
  AssertEventSchema,
  FeatureEventSchema,
  BlockedEventSchema,
  LogEventSchema,
  EventSchema,
  BatchSchema,
  ServerLogSchema,
  EVENT_KINDS,
} from './schema.js';
export type {
  Attributes,
  LogLevel,
  Breadcrumb,
  ErrorEvent,
  AssertEvent,
  FeatureEvent,
  BlockedEvent,
  LogEvent,
  TelltaleEvent,
  EventKind,
  Batch,
  ServerLog,
} from './schema.js';
export { validateBatch, validateServerLog, type ValidationResult } from './validate.js';
export type { SpoolEnvelope, ServerLogEnvelope } from './envelope.js';
export { ERROR_CODES, errorBody, TelltaleError, type ErrorCode, type ErrorBody } from './errors.js';
export { scrubText, scrubStack, scrubUrl, scrubId, scrubAttributes, scrubJsonValue } from './scrub/scrub.js';
export { keyWords, isDeniedKey, isDeniedTextKey } from './scrub/deny-list.js';
export { stripDebugIdMarkers } from './debug-id.js';
export {
  kafkaSettingsFromEnv,
  kafkaTopics,
  kafkaRecordKey,
  type KafkaSettings,
  type KafkaTopics,
} from './kafka.js';
export { dataLayout, DEFAULT_DATA_DIR, type DataLayout, type SpoolName } from './data-layout.js';
export {
  parseWebhookDestinations,
  WebhookDestinationSchema,
  WebhookDestinationsSchema,
  type WebhookDestination,
  type WebhookDestinationOptions,
} from './webhooks.js';
export {
  booleanSetting,
  positiveSetting,
  choiceSetting,
  textSetting,
  envText,
  invalidConfig,
  intSetting,
  portSetting,
  readEnvTable,
  readSetting,
  SERVICE_SETTINGS,
  type EnvSetting,
  type EnvTable,
  type EnvValues,
} from './settings.js';
export { jsonErrorWhere } from './json-error.js';
export type {
  BreakerPosition,
  ConsumerFigures,
  ConsumerLag,
  DeadLetterReplayReport,
  DeadLetterSummary,
  PipelineFigures,
  SinkFigures,
} from './health.js';
export { artifactId, artifactPath, debugIdKey, DEBUG_ID_DIR, releaseDirName } from './artifact-layout.js';
export { addressKey } from './address-key.js';
