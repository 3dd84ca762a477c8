import type { FastifyPluginAsync } from 'fastify';
import type { ListAlerts, ReadAlert } from './alerts.js';
import type { IssueServices } from './issues.js';
import { apiRoutes } from './http/api.js';
import { healthRoutes, registerHealthBanner } from './http/health.js';
import type { DeadLetterReplayResult, PipelineHealth } from './http/health-types.js';
import { pageRoutes } from './http/pages.js';
import type { DashboardStore } from './store.js';
import type { AppDsnView } from './views/apps.js';

export interface DashboardsPluginOptions {
  /** Where the events are read from (see createDuckDbStore). The plugin never closes it. */
  store: DashboardStore;
  /** The alert log, in any order; shown newest first. */
  listAlerts: ListAlerts;
  /** Raw .eml text of an alert by key; without it the alerts page has no "view" links. */
  readAlert?: ReadAlert;
  /** Group lifecycle, mute rules and source-map symbolication (the dispatchers' `issues`); without it
   *  stacks show as reported and the resolve / ignore / mute controls are hidden. */
  issues?: IssueServices;
  /** The apps and their Sentry DSNs for the `/apps` page; without it the page is not served. */
  apps?: () => readonly AppDsnView[];
  /** Product name in the nav bar and page titles; default "Telltale". */
  title?: string;
  /**
   * The pipeline's figures for `/health`, `/api/health` and the red banner (the dispatchers'
   * createPipelineMonitor().figures(), plus the collector's spools); without it `/health` says
   * where to look instead (a dashboards process without dispatchers).
   */
  health?: () => PipelineHealth | Promise<PipelineHealth>;
  /** Replays one consumer's dead letters into its sink (the dispatchers' replayDeadLetters); without it there is no replay button. */
  replayDeadLetters?: (consumer: string) => Promise<DeadLetterReplayResult>;
  /** How long a sink or consumer fails before every page shows the red banner; default HEALTH_BANNER_AFTER_MS (3 min). */
  healthBannerAfterMs?: number;
}

/**
 * The dashboards: HTML pages at `/`, `/errors/:id`, `/features`, `/asserts`, `/blocked`, `/events`,
 * `/events/:app/:id`, `/alerts`, `/alerts/rules`, `/alerts/:key`, `/health`, the stylesheet at
 * `/assets/dashboard.css`, and the JSON API under `/api`. Links are absolute, so register it at the root prefix.
 */
export const dashboardsPlugin: FastifyPluginAsync<DashboardsPluginOptions> = async (app, options) => {
  // Before the routes' scopes, so the banner hook fills the slot of every page they send.
  if (options.health !== undefined) registerHealthBanner(app, options);
  // Child scopes so each answers errors in its own format (JSON body vs. HTML page).
  await app.register(apiRoutes, options);
  await app.register(pageRoutes, options);
  await app.register(healthRoutes, options);
};
