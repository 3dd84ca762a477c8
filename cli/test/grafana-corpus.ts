import { utcDay, type ClickHouseEventRow, type ClickHouseServerLogRow } from '@telltale/schema';

/**
 * A small corpus for the Grafana panels, as the clickhouse sink stores it, and what each panel must
 * answer over it. Times are relative to yesterday 00:00 UTC (the variables' queries look at the
 * last 30 days); a few rows are stored twice, as a replay does, so a panel without FINAL shows more.
 */

const HOUR = 3_600_000;
const DAY_MS = 24 * HOUR;
/** Yesterday, 00:00 UTC. */
const D = Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS;

/** The dashboard's time range for the tests: the day before yesterday and yesterday. */
export const seedWindow = () => ({ fromMs: D - DAY_MS, toMs: D + DAY_MS });

const at = (hours: number, minutes = 0) => D + hours * HOUR + minutes * 60_000;
/** A DateTime as ClickHouse prints it (the engines here run in UTC). */
const shown = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

let seq = 0;
function event(ms: number, fields: Partial<ClickHouseEventRow>): ClickHouseEventRow {
  seq += 1;
  return {
    app: 'shop',
    id: `ev-${seq}`,
    kind: 'error',
    ts: Math.floor(ms / 1000),
    ts_ms: ms,
    received_at: Math.floor(ms / 1000),
    received_ms: ms,
    day: utcDay(ms),
    batch_id: `b-${seq}`,
    release: '1.0',
    environment: 'prod',
    session: `s-${seq}`,
    user_id: null,
    account_id: null,
    url: '/checkout',
    trace: null,
    online: 1,
    fingerprint: null,
    name: null,
    error_type: null,
    message: null,
    stack: null,
    level: null,
    count: 1,
    soft: null,
    attrs: null,
    breadcrumbs: null,
    browser: 'Chrome',
    browser_version: '131',
    os: 'Linux',
    os_version: null,
    device: null,
    load_ms: 420,
    adblock: 0,
    ...fields,
  };
}

function logLine(ms: number, fields: Partial<ClickHouseServerLogRow>): ClickHouseServerLogRow {
  seq += 1;
  return {
    app: 'shop',
    id: `log-${seq}`,
    ts: Math.floor(ms / 1000),
    ts_ms: ms,
    received_at: Math.floor(ms / 1000),
    received_ms: ms,
    day: utcDay(ms),
    service: 'api',
    level: 'info',
    message: 'GET /api/cart 200',
    trace: null,
    span: null,
    session: null,
    user_id: null,
    account_id: null,
    release: null,
    environment: 'prod',
    attrs: null,
    ...fields,
  };
}

const FP_A = 'a1b2c3d4e5f60718';
const FP_B = '0f1e2d3c4b5a6978';
const typeError = { fingerprint: FP_A, error_type: 'TypeError', message: 'x is undefined' };
const rangeError = { fingerprint: FP_B, error_type: 'RangeError', message: 'index out of range' };

/** The corpus, one INSERT per entry: the replayed copies come in a later insert than their originals. */
export function seedRows(): Array<[table: 'events' | 'server_logs', rows: string[]]> {
  seq = 0;
  const replayedError = event(at(8, 10), { ...typeError, user_id: 'u1' });
  const replayedLog = logLine(at(8, 15), {});
  const events = [
    replayedError,
    event(at(8, 20), { ...typeError, user_id: 'u2', count: 2 }),
    event(at(8, 50), { ...typeError, release: '1.1' }), // no user: counted by session
    event(at(9, 5), { ...typeError, user_id: 'u1', release: '1.1' }),
    event(at(8, 30), { ...rangeError, user_id: 'u4', release: '1.1' }),
    // Outside the filters: another day, another app, another environment.
    event(at(8 - 72), { ...typeError, user_id: 'u9' }),
    event(at(8, 40), { ...typeError, app: 'blog', user_id: 'u9' }),
    event(at(8, 40), { ...rangeError, environment: 'staging', user_id: 'u9' }),
    event(at(12 - 24), { kind: 'feature', name: 'export-csv', user_id: 'u1' }),
    event(at(12), { kind: 'feature', name: 'export-csv', user_id: 'u1' }),
    event(at(12, 30), { kind: 'feature', name: 'export-csv', user_id: 'u2', count: 2 }),
    event(at(13), { kind: 'feature', name: 'import', user_id: 'u3' }),
    event(at(10), { kind: 'assert', name: 'cart-total', soft: 0, user_id: 'u1' }),
    event(at(10, 30), { kind: 'assert', name: 'many-workspaces', soft: 1, user_id: 'u2', count: 2 }),
    event(at(11), { kind: 'blocked', name: 'file_too_large', user_id: 'u1' }),
    event(at(11, 5), { kind: 'blocked', name: 'file_too_large', user_id: 'u2' }),
    event(at(11, 15), { kind: 'blocked', name: 'permission_denied', user_id: 'u3' }),
  ];
  const logs = [
    logLine(at(8, 5), {}),
    replayedLog,
    logLine(at(8, 45), {}),
    logLine(at(8, 30), { level: 'error', message: 'cart service timed out' }),
    logLine(at(9, 10), { service: 'worker', level: 'fatal', message: 'out of memory' }),
    logLine(at(8), { app: 'blog', level: 'error' }),
  ];
  const json = (rows: object[]) => rows.map((r) => JSON.stringify(r));
  return [
    ['events', json(events)],
    ['server_logs', json(logs)],
    ['events', json([replayedError])],
    ['server_logs', json([replayedLog])],
  ];
}

export type PanelRows = Record<string, Array<Record<string, unknown>>>;

/** What each query answers over the corpus, for app "shop", environment "prod" and the seed window. */
export function EXPECTED(intervalSeconds: number): PanelRows {
  const A = 'TypeError a1b2c3d4e5f6';
  const B = 'RangeError 0f1e2d3c4b5a';
  const perHour =
    intervalSeconds === 1800
      ? [
          { time: shown(at(8)), error_group: A, errors_per_hour: 6 },
          { time: shown(at(8, 30)), error_group: B, errors_per_hour: 2 },
          { time: shown(at(8, 30)), error_group: A, errors_per_hour: 2 },
          { time: shown(at(9)), error_group: A, errors_per_hour: 2 },
        ]
      : [
          { time: shown(at(8)), error_group: B, errors_per_hour: 1 },
          { time: shown(at(8)), error_group: A, errors_per_hour: 4 },
          { time: shown(at(9)), error_group: A, errors_per_hour: 1 },
        ];
  return {
    'panel "Errors in range" A': [{ errors: 6, error_groups: 2, users_affected: 4 }],
    'panel "Usage in range" A': [{ feature_uses: 5, failed_asserts: 3, blocked: 3 }],
    'panel "Errors per hour by group" A': perHour,
    'panel "Top error groups" A': [
      {
        fingerprint: FP_A,
        type: 'TypeError',
        message: 'x is undefined',
        events: 5,
        users: 3,
        releases: 2,
        first_in_range: shown(at(8, 10)),
        last_in_range: shown(at(9, 5)),
      },
      {
        fingerprint: FP_B,
        type: 'RangeError',
        message: 'index out of range',
        events: 1,
        users: 1,
        releases: 1,
        first_in_range: shown(at(8, 30)),
        last_in_range: shown(at(8, 30)),
      },
    ],
    'panel "Feature uses per day" A': [
      { time: shown(D - DAY_MS), feature: 'export-csv', uses: 1 },
      { time: shown(D), feature: 'export-csv', uses: 3 },
      { time: shown(D), feature: 'import', uses: 1 },
    ],
    'panel "Feature users per day" A': [
      { time: shown(D - DAY_MS), feature: 'export-csv', users: 1 },
      { time: shown(D), feature: 'export-csv', users: 2 },
      { time: shown(D), feature: 'import', users: 1 },
    ],
    'panel "Failed asserts" A': [
      { time: shown(at(10)), assert_name: 'cart-total', failures: 1 },
      { time: shown(at(10)), assert_name: 'many-workspaces (soft)', failures: 2 },
    ],
    'panel "Blocked events" A': [
      { time: shown(at(11)), reason: 'file_too_large', blocked: 2 },
      { time: shown(at(11)), reason: 'permission_denied', blocked: 1 },
    ],
    'panel "Server log lines by level" A': [
      { time: shown(at(8)), level: 'error', lines: 1 },
      { time: shown(at(8)), level: 'info', lines: 3 },
      { time: shown(at(9)), level: 'fatal', lines: 1 },
    ],
    'panel "Server errors by service" A': [
      { time: shown(at(8)), service: 'api', lines: 1 },
      { time: shown(at(9)), service: 'worker', lines: 1 },
    ],
    'variable $app': [{ app: 'blog' }, { app: 'shop' }],
    'variable $environment': [{ environment: 'prod' }, { environment: 'staging' }],
  };
}
