import path from 'node:path';
import { TelltaleError } from '@telltale/protocol';
import type { AppWebhooks } from './webhooks/delivery-log.js';
import { readAppWebhooks } from './webhooks/config.js';

/** Alert and source-map settings of the dispatchers; part of DispatcherConfig (see config.ts). */
export interface AlertSettings {
  /** Emails per kind (new error, regression, …) per window before the rest wait for one digest
   *  (`TELLTALE_ALERT_LIMIT`, default 10). */
  readonly alertLimit: number;
  /** The throttling window, ms (`TELLTALE_ALERT_WINDOW_MS`, default 3600000 = one hour). */
  readonly alertWindowMs: number;
  /** Also email the first use of each feature by each account (`TELLTALE_ALERT_FIRST_USE_PER_ACCOUNT`, default false). */
  readonly alertFirstUsePerAccount: boolean;
  /** New alert keys (new error, new assert, first use…) recorded per app per window; the rest are only
   *  counted and summed up in the window's digest (`TELLTALE_ALERT_MAX_NEW_KEYS_PER_APP`, default 100). */
  readonly alertMaxNewKeysPerApp: number;
  /** Finished alerts older than this many days leave the alert log at its next compaction, keeping
   *  only their key so they never alert again (`TELLTALE_ALERT_RETENTION_DAYS`, default 90). */
  readonly alertRetentionDays: number;
  /** Parsed source maps kept in memory, least recently used dropped first (`TELLTALE_SOURCEMAP_CACHE_SIZE`, default 32). */
  readonly sourceMapCacheSize: number;
  /** The apps file whose `apps[].webhooks` receive alerts (`TELLTALE_CONFIG`, default ./telltale.config.json). */
  readonly alertAppsFile: string;
  /** Each app's alert webhooks, read from `alertAppsFile` once at start (see docs/alerts.md). */
  readonly alertWebhooks: AppWebhooks;
}

export type AlertOptions = Partial<AlertSettings>;

export const ALERT_DEFAULTS = Object.freeze({
  alertLimit: 10,
  alertWindowMs: 3_600_000,
  alertFirstUsePerAccount: false,
  alertMaxNewKeysPerApp: 100,
  alertRetentionDays: 90,
  sourceMapCacheSize: 32,
});

function invalid(field: string, problem: string): never {
  throw new TelltaleError('TELLTALE_ERR_INVALID_CONFIG', `${field}: ${problem}`);
}

function integer(
  option: number | undefined,
  envValue: string | undefined,
  field: string,
  envName: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const fromEnv = envValue === undefined || envValue.trim() === '' ? undefined : Number(envValue);
  const value = option ?? fromEnv ?? fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    const name = option === undefined ? envName : field;
    invalid(name, `${String(option ?? envValue)} must be a whole number from ${min} to ${max}`);
  }
  return value;
}

function boolean(option: boolean | undefined, envValue: string | undefined, envName: string): boolean {
  if (option !== undefined) return option;
  if (envValue === undefined || envValue.trim() === '') return false;
  const value = envValue.trim().toLowerCase();
  if (['1', 'true', 'yes'].includes(value)) return true;
  if (['0', 'false', 'no'].includes(value)) return false;
  return invalid(envName, `must be true or false, got "${envValue}"`);
}

/** Explicit options win over the environment, the environment over defaults. */
export function resolveAlertSettings(options: AlertOptions, env: NodeJS.ProcessEnv): AlertSettings {
  const alertAppsFile = path.resolve(
    options.alertAppsFile ?? (env.TELLTALE_CONFIG?.trim() || undefined) ?? 'telltale.config.json',
  );
  return {
    alertAppsFile,
    alertWebhooks: options.alertWebhooks ?? readAppWebhooks(alertAppsFile),
    alertLimit: integer(
      options.alertLimit,
      env.TELLTALE_ALERT_LIMIT,
      'alertLimit',
      'TELLTALE_ALERT_LIMIT',
      ALERT_DEFAULTS.alertLimit,
      1,
      10_000,
    ),
    alertWindowMs: integer(
      options.alertWindowMs,
      env.TELLTALE_ALERT_WINDOW_MS,
      'alertWindowMs',
      'TELLTALE_ALERT_WINDOW_MS',
      ALERT_DEFAULTS.alertWindowMs,
      1_000,
      7 * 86_400_000,
    ),
    alertFirstUsePerAccount: boolean(
      options.alertFirstUsePerAccount,
      env.TELLTALE_ALERT_FIRST_USE_PER_ACCOUNT,
      'TELLTALE_ALERT_FIRST_USE_PER_ACCOUNT',
    ),
    alertMaxNewKeysPerApp: integer(
      options.alertMaxNewKeysPerApp,
      env.TELLTALE_ALERT_MAX_NEW_KEYS_PER_APP,
      'alertMaxNewKeysPerApp',
      'TELLTALE_ALERT_MAX_NEW_KEYS_PER_APP',
      ALERT_DEFAULTS.alertMaxNewKeysPerApp,
      1,
      100_000,
    ),
    alertRetentionDays: integer(
      options.alertRetentionDays,
      env.TELLTALE_ALERT_RETENTION_DAYS,
      'alertRetentionDays',
      'TELLTALE_ALERT_RETENTION_DAYS',
      ALERT_DEFAULTS.alertRetentionDays,
      1,
      3_650,
    ),
    sourceMapCacheSize: integer(
      options.sourceMapCacheSize,
      env.TELLTALE_SOURCEMAP_CACHE_SIZE,
      'sourceMapCacheSize',
      'TELLTALE_SOURCEMAP_CACHE_SIZE',
      ALERT_DEFAULTS.sourceMapCacheSize,
      1,
      10_000,
    ),
  };
}
