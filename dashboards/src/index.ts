export { dashboardsPlugin, type DashboardsPluginOptions } from './plugin.js';
export { createDuckDbStore, type DuckDbStoreOptions } from './stores/duckdb.js';
export { createClickHouseStore, type ClickHouseStoreOptions } from './stores/clickhouse.js';
export { LIST_LIMITS } from './store.js';
export type {
  DashboardStore,
  ErrorGroupsQuery,
  ListEventsQuery,
  ErrorGroup,
  ErrorGroupDetail,
  FeatureUsage,
  AssertFailure,
  BlockedSummary,
  EventSummary,
  EventDetail,
  EventCounts,
  TimelineQuery,
  TimelineItem,
  ServerLogsQuery,
  ServerLogLine,
} from './store.js';
export type { AlertSummary, ListAlerts, ReadAlert } from './alerts.js';
export { registerAuth, type AuthOptions, type RegisteredAuth } from './auth/register.js';
export { INGEST_ROUTES, SIGN_IN_ROUTES, isIngestRequest, matchesRoute } from './auth/surface.js';
export type { RegisteredRoute } from './auth/access-hook.js';
export {
  openAccessStore,
  accessFilePath,
  normalizeEmail,
  isEmail,
  isTokenName,
  newApiToken,
  sha256,
  ROLES,
  type AccessStore,
  type Role,
} from './auth/access-store.js';
export { hashPassword, verifyPassword, passwordProblem } from './auth/password.js';
export { safeNext } from './auth/sign-in-routes.js';
export {
  HEALTH_BANNER_AFTER_MS,
  type PipelineHealth,
  type DeadLetterReplayResult,
} from './http/health-types.js';
