/**
 * The seed of bench:query, in SQL (INSERT … SELECT from range(), a few seconds for a million rows):
 * deterministic (from the row number and DuckDB's hash() of it), relative to $1 (now, epoch ms) and $2 rows.
 *
 * Events (@telltale/schema's `events`): 20 % errors over 300 fingerprints per app (skewed: a few
 * groups are most of them), 35 % features (40 names), 10 % asserts (15 names, soft and hard),
 * 7 % blocked (8 reasons), 28 % logs; three apps, six releases (one every five days), four browsers,
 * five OSes, eight URL paths, 60,000 sessions, 8,000 users (one event in seven anonymous) in 400
 * accounts, a trace per five events, spread over 30 days.
 * Server logs: one line per trace of the first $2 traces, a few hundred ms after its client events.
 */

const WINDOW_MS = 30 * 86_400_000;
const RELEASE_MS = 5 * 86_400_000;

export const EVENTS_SQL = `
INSERT INTO events
WITH base AS (
  SELECT i, i // 5 AS t,
    (i * 7919) % 100 AS k,
    (hash(i) % 1000)::INTEGER AS r,
    ((i // 5) * 2654435761) % ${WINDOW_MS} AS age
  FROM range(0, $2::BIGINT) AS seq(i)
), shaped AS (
  SELECT *,
    CASE WHEN k < 20 THEN 'error' WHEN k < 55 THEN 'feature' WHEN k < 65 THEN 'assert'
         WHEN k < 72 THEN 'blocked' ELSE 'log' END AS kind,
    $1::BIGINT - age - (i % 5) * 1000 AS ts_ms,
    floor(pow(r / 1000.0, 3) * 300)::INTEGER AS g,
    (['shop', 'shop', 'shop', 'admin', 'docs'])[1 + t % 5] AS app_id,
    (t * 31) % 8000 AS u
  FROM base
)
SELECT
  app_id AS app,
  'ev-' || i AS id,
  kind,
  epoch_ms(ts_ms) AS ts,
  epoch_ms(ts_ms + 300) AS received_at,
  CAST(epoch_ms(ts_ms + 300) AS DATE) AS day,
  'batch-' || (i // 20) AS batch_id,
  '1.' || (5 - age // ${RELEASE_MS})::VARCHAR || '.0' AS release,
  CASE WHEN t % 10 = 0 THEN 'staging' ELSE 'production' END AS environment,
  's-' || (t % 60000) AS session,
  CASE WHEN t % 7 = 0 THEN NULL ELSE 'u-' || u END AS user_id,
  CASE WHEN t % 7 = 0 THEN NULL ELSE 'acct-' || (u % 400) END AS account_id,
  (['/', '/cart', '/checkout', '/pay', '/search', '/settings', '/docs/start', '/admin/users'])[1 + (i * 11) % 8] AS url,
  md5('trace-' || t) AS trace,
  i % 50 <> 0 AS online,
  CASE WHEN kind = 'error' THEN md5(app_id || ':fp-' || g) END AS fingerprint,
  CASE kind WHEN 'feature' THEN 'feature-' || (r % 40) WHEN 'assert' THEN 'assert-' || (r % 15)
            WHEN 'blocked' THEN 'reason-' || (r % 8) END AS name,
  CASE WHEN kind = 'error'
       THEN (['TypeError', 'RangeError', 'ReferenceError', 'Error', 'SyntaxError', 'NetworkError'])[1 + g % 6] END AS error_type,
  CASE kind WHEN 'error' THEN 'Cannot read properties of undefined (reading ''field' || g || ''')'
            WHEN 'log' THEN 'loaded page in ' || r || ' ms' END AS message,
  CASE WHEN kind = 'error' THEN 'TypeError: Cannot read properties of undefined\n    at fn' || g ||
       ' (https://shop.example.com/assets/app.3f9a2c1b.js:' || (10 + g) || ':9)\n    at main (https://shop.example.com/assets/app.3f9a2c1b.js:400:3)' END AS stack,
  CASE WHEN kind = 'log' THEN (['info', 'info', 'warn', 'debug'])[1 + r % 4] END AS level,
  CASE WHEN kind = 'error' AND r % 10 = 0 THEN 3 ELSE 1 END AS count,
  CASE WHEN kind = 'assert' THEN r % 2 = 0 END AS soft,
  CASE WHEN kind IN ('feature', 'assert', 'blocked') THEN '{"rows":' || r || ',"plan":"team"}' END AS attrs,
  CASE WHEN kind = 'error'
       THEN '[{"ts":' || (ts_ms - 800) || ',"level":"info","category":"ui.click","message":"button#pay"}]' END AS breadcrumbs,
  (['Chrome', 'Chrome', 'Firefox', 'Safari', 'Edge'])[1 + t % 5] AS browser,
  (120 + t % 12)::VARCHAR || '.0' AS browser_version,
  (['Windows', 'macOS', 'iOS', 'Android', 'Linux'])[1 + (t // 5) % 5] AS os,
  (10 + t % 8)::VARCHAR AS os_version,
  CASE WHEN (t // 5) % 5 IN (2, 3) THEN 'mobile' ELSE 'desktop' END AS device,
  CASE WHEN kind = 'log' THEN 100.0 + r END AS load_ms,
  t % 13 = 0 AS adblock
FROM shaped`;

export const SERVER_LOGS_SQL = `
INSERT INTO server_logs
WITH base AS (
  SELECT t, (t * 104729) % 1000 AS r, (t * 2654435761) % ${WINDOW_MS} AS age
  FROM range(0, $2::BIGINT) AS seq(t)
)
SELECT
  (['shop', 'shop', 'shop', 'admin', 'docs'])[1 + t % 5] AS app,
  'log-' || t AS id,
  epoch_ms($1::BIGINT - age + 200) AS ts,
  epoch_ms($1::BIGINT - age + 250) AS received_at,
  CAST(epoch_ms($1::BIGINT - age + 250) AS DATE) AS day,
  (['api', 'api', 'worker'])[1 + t % 3] AS service,
  (['info', 'info', 'info', 'warn', 'error'])[1 + r % 5] AS level,
  CASE WHEN r % 5 = 3 THEN 'upstream timeout after ' || r || ' ms'
       ELSE 'POST /api/checkout ' || (200 + (r % 5) * 100) || ' in ' || r || ' ms' END AS message,
  md5('trace-' || t) AS trace,
  substr(md5('span-' || t), 1, 16) AS span,
  's-' || (t % 60000) AS session,
  CASE WHEN t % 7 = 0 THEN NULL ELSE 'u-' || ((t * 31) % 8000) END AS user_id,
  NULL AS account_id,
  '1.' || (5 - age // ${RELEASE_MS})::VARCHAR || '.0' AS release,
  'production' AS environment,
  '{"route":"/api/checkout"}' AS attrs
FROM base`;
