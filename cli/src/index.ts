export { startTelltale, type StartOptions, type RunningTelltale } from './server.js';
export {
  resolveServerConfig,
  SERVER_SETTINGS,
  ACCESS_SETTINGS,
  type ServerConfig,
  type ServerOptions,
} from './config.js';
export { ensureDemoApp, type DemoApp } from './demo-app.js';
export { main } from './main.js';
export { COMMANDS, type Command, type CommandIO } from './commands/index.js';
export { startCollectorRole, type RunningCollectorRole } from './roles/collector.js';
export {
  startDispatcherRole,
  type RunningDispatcher,
  type DispatcherRoleOptions,
} from './roles/dispatcher.js';
export {
  startDashboardsRole,
  type RunningDashboards,
  type DashboardsRoleOptions,
} from './roles/dashboards.js';
export { resolveOpsConfig, resolveStoreConfig, DEFAULT_OPS_PORT, ROLE_SETTINGS } from './roles/config.js';
