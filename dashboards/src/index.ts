export { dashboardsPlugin, type DashboardsPluginOptions } from './plugin.js';
export { createDuckDbStore } from './stores/duckdb.js';
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
} from './store.js';
export type { AlertSummary, ListAlerts, ReadAlert } from './alerts.js';
