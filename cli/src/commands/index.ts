import { startCommand } from './start.js';
import { sourcemapsCommand } from './sourcemaps.js';
import { muteCommand } from './mute.js';
import { dlqCommand } from './dlq.js';
import { replayCommand } from './replay.js';
import { appsCommand } from './apps.js';
import { usersCommand } from './users.js';
import { tokensCommand } from './tokens.js';
import { collectorCommand } from './collector.js';
import { dispatcherCommand } from './dispatcher.js';
import { dashboardsCommand } from './dashboards.js';
import type { Command } from './types.js';

/** Every `telltale` command. A new command is a new file in this folder and one line here. */
export const COMMANDS: Record<string, Command> = {
  start: startCommand,
  collector: collectorCommand,
  dispatcher: dispatcherCommand,
  dashboards: dashboardsCommand,
  apps: appsCommand,
  users: usersCommand,
  tokens: tokensCommand,
  sourcemaps: sourcemapsCommand,
  mute: muteCommand,
  dlq: dlqCommand,
  replay: replayCommand,
};

export type { Command, CommandIO } from './types.js';
