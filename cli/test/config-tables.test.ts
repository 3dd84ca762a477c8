import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COLLECTOR_SETTINGS, resolveCollectorConfig } from '@telltale/collector';
import { DISPATCHER_SETTINGS, SINK_SETTINGS, resolveDispatcherConfig } from '@telltale/dispatchers';
import { readEnvTable, SERVICE_SETTINGS, TelltaleError, type EnvTable } from '@telltale/protocol';
import {
  ACCESS_SETTINGS,
  ROLE_SETTINGS,
  SERVER_SETTINGS,
  resolveOpsConfig,
  resolveServerConfig,
} from '../src/index.js';

const TABLES: Record<string, EnvTable> = {
  SERVICE_SETTINGS,
  SERVER_SETTINGS,
  ACCESS_SETTINGS,
  ROLE_SETTINGS,
  COLLECTOR_SETTINGS,
  DISPATCHER_SETTINGS,
  SINK_SETTINGS,
};

const APPS = JSON.stringify([{ id: 'web', name: 'Web', ingestKeys: ['tt_web_0123456789abcdef'] }]);

/** The message of the config error `fn` throws. */
function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TelltaleError);
    expect((error as TelltaleError).code).toBe('TELLTALE_ERR_INVALID_CONFIG');
    return (error as Error).message;
  }
  throw new Error('expected a config error');
}

describe('one config table per service', () => {
  it('documents every variable of every table in docs/configuration.md', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    const missing = Object.entries(TABLES).flatMap(([table, settings]) =>
      Object.values(settings)
        .filter((setting) => !doc.includes(`\`${setting.env}\``))
        .map((setting) => `${table}: ${setting.env}`),
    );
    expect(missing).toEqual([]);
  });

  it('treats an empty or blank variable as unset in every service: TELLTALE_PORT= is 8080', () => {
    for (const blank of ['', '   ']) {
      expect(resolveServerConfig({}, { TELLTALE_PORT: blank }).port).toBe(8080);
      // The standalone collector reads the very same table.
      expect(readEnvTable(SERVICE_SETTINGS, { TELLTALE_PORT: blank }).port).toBe(8080);
      expect(resolveOpsConfig({ TELLTALE_OPS_PORT: blank }).port).toBe(9464);
      const collector = resolveCollectorConfig({}, { TELLTALE_APPS: APPS, TELLTALE_MAX_CONNECTIONS: blank });
      expect(collector.connections.max).toBe(10_000);
      const dispatchers = resolveDispatcherConfig(
        {},
        { TELLTALE_RETENTION_DAYS: blank, TELLTALE_DATA_DIR: blank },
      );
      expect(dispatchers.retention.duckdb).toBe(30);
      expect(dispatchers.dataDir.endsWith('.telltale')).toBe(true);
    }
    expect(resolveServerConfig({}, { TELLTALE_PORT: '0' }).port).toBe(0);
  });

  it('names the variable, the value and what would be valid', () => {
    const cases: Array<[() => unknown, RegExp]> = [
      [
        () => resolveServerConfig({}, { TELLTALE_PORT: '80a' }),
        /^TELLTALE_ERR_INVALID_CONFIG: TELLTALE_PORT: "80a" is not a port number \(0-65535\)$/,
      ],
      [
        () => resolveServerConfig({}, { TELLTALE_PORT: '70000' }),
        /^TELLTALE_ERR_INVALID_CONFIG: TELLTALE_PORT: "70000" is not a port/,
      ],
      [
        () => resolveServerConfig({}, { TELLTALE_LOG_LEVEL: 'loud' }),
        /^TELLTALE_ERR_INVALID_CONFIG: TELLTALE_LOG_LEVEL: "loud" is not one of fatal, error, warn/,
      ],
      [
        () => resolveServerConfig({}, { TELLTALE_SESSION_MAX_DAYS: '0' }),
        /^TELLTALE_ERR_INVALID_CONFIG: TELLTALE_SESSION_MAX_DAYS: "0" is not a positive number of days/,
      ],
      [
        () => resolveOpsConfig({ TELLTALE_OPS_PORT: '-1' }),
        /^TELLTALE_ERR_INVALID_CONFIG: TELLTALE_OPS_PORT: "-1" is not a port number/,
      ],
      [
        () => resolveCollectorConfig({}, { TELLTALE_APPS: APPS, TELLTALE_HEADERS_TIMEOUT_MS: '5' }),
        /^TELLTALE_ERR_INVALID_CONFIG: TELLTALE_HEADERS_TIMEOUT_MS: "5" must be a whole number of milliseconds from 100 to 3600000$/,
      ],
      [
        () => resolveCollectorConfig({}, { TELLTALE_APPS: APPS, TELLTALE_SPOOL_APP_SHARE: '2' }),
        /^TELLTALE_ERR_INVALID_CONFIG: TELLTALE_SPOOL_APP_SHARE: "2" must be a fraction of the disk cap from 0 to 1/,
      ],
      [
        () => resolveCollectorConfig({ apps: JSON.parse(APPS), timeouts: { requestMs: 1.5 } }, {}),
        /^TELLTALE_ERR_INVALID_CONFIG: timeouts\.requestMs: "1.5" must be a whole number of milliseconds/,
      ],
      [
        () => resolveDispatcherConfig({}, { TELLTALE_DISPATCH_THREADS: 'many' }),
        /^TELLTALE_ERR_INVALID_CONFIG: TELLTALE_DISPATCH_THREADS: "many" must be a whole number of threads \(0 decodes on the main thread\) from 0 to 64$/,
      ],
      [
        () => resolveDispatcherConfig({}, { TELLTALE_DISPATCH_PAUSED: 'yes' }),
        /^TELLTALE_ERR_INVALID_CONFIG: TELLTALE_DISPATCH_PAUSED: "yes" must be 1 \(consumers paused\) or 0/,
      ],
      [
        () => resolveDispatcherConfig({}, { TELLTALE_KAFKA_SESSION_TIMEOUT_MS: '10' }),
        /^TELLTALE_ERR_INVALID_CONFIG: TELLTALE_KAFKA_SESSION_TIMEOUT_MS: "10" must be a whole number of milliseconds/,
      ],
    ];
    for (const [fn, message] of cases) expect(configError(fn)).toMatch(message);
  });

  it('never echoes a secret it refuses', () => {
    const token = 'short-secret-token';
    const message = configError(() => resolveServerConfig({}, { TELLTALE_API_TOKEN: token }));
    expect(message).toMatch(/^TELLTALE_ERR_INVALID_CONFIG: TELLTALE_API_TOKEN: must be 32-128 characters/);
    expect(message).not.toContain(token);
    expect(configError(() => resolveServerConfig({}, { TELLTALE_DEMO_KEY: 'tiny' }))).not.toContain('tiny');
  });
});
