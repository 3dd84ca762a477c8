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
export {
  registerAuth,
  DEFAULT_SESSION_LIMITS,
  type AuthOptions,
  type RegisteredAuth,
} from './auth/register.js';
export { INGEST_ROUTES, SIGN_IN_ROUTES, isIngestRequest, matchesRoute } from './auth/surface.js';
export { hostAllowed, viewerOf, type RegisteredRoute } from './auth/access-hook.js';
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
  type UserRecord,
  type TokenRecord,
} from './auth/access-store.js';
export { hashPassword, verifyPassword, passwordProblem, MIN_PASSWORD_LENGTH } from './auth/password.js';
export { createSessionStarter, safeNext } from './auth/sign-in-routes.js';
export type { Viewer, SessionLimits } from './auth/sessions.js';
export * from './http/health-types.js';
