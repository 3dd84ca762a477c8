import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * What Grafana does to a panel's query before ClickHouse or Prometheus sees it, for the tests of
 * deploy/grafana: template variables (Grafana's front end), then the ClickHouse plugin's macros
 * (its backend, grafana/clickhouse-datasource pkg/macros), and small readers of the identifiers a
 * SQL or PromQL text names.
 */

export const GRAFANA_DIR = fileURLToPath(new URL('../../deploy/grafana/', import.meta.url));

export interface GrafanaTarget {
  refId: string;
  datasource?: { type: string; uid: string };
  rawSql?: string;
  expr?: string;
  format?: number;
  queryType?: string;
}

export interface GrafanaPanel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: GrafanaTarget[];
  panels?: GrafanaPanel[];
}

export interface GrafanaVariable {
  name: string;
  type: string;
  query: string;
  datasource?: { type: string; uid: string };
}

export interface GrafanaDashboard {
  uid: string;
  title: string;
  panels: GrafanaPanel[];
  templating: { list: GrafanaVariable[] };
}

export function readDashboard(file: string): GrafanaDashboard {
  return JSON.parse(readFileSync(`${GRAFANA_DIR}dashboards/${file}`, 'utf8')) as GrafanaDashboard;
}

/** Every panel, rows' children included. */
export function panelsOf(dashboard: GrafanaDashboard): GrafanaPanel[] {
  return dashboard.panels.flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]));
}

/** One query as Grafana sends it: a panel's target, or a query variable's. */
export interface DashboardQuery {
  where: string;
  text: string;
  /** Time series (format 0): the plugin wants a time column first, rows in time order. */
  timeSeries: boolean;
}

export function clickHouseQueries(dashboard: GrafanaDashboard): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  for (const panel of panelsOf(dashboard))
    for (const target of panel.targets ?? [])
      if (target.datasource?.type === 'grafana-clickhouse-datasource')
        out.push({
          where: `panel "${panel.title}" ${target.refId}`,
          text: target.rawSql ?? '',
          timeSeries: target.format === 0,
        });
  for (const v of dashboard.templating.list)
    if (v.type === 'query' && v.datasource?.type === 'grafana-clickhouse-datasource')
      out.push({ where: `variable $${v.name}`, text: v.query, timeSeries: false });
  return out;
}

export function prometheusQueries(dashboard: GrafanaDashboard): DashboardQuery[] {
  return panelsOf(dashboard).flatMap((panel) =>
    (panel.targets ?? [])
      .filter((t) => t.datasource?.type === 'prometheus')
      .map((t) => ({ where: `panel "${panel.title}" ${t.refId}`, text: t.expr ?? '', timeSeries: true })),
  );
}

/**
 * Grafana's front-end interpolation: `${name:singlequote}` (each value quoted, `'` escaped as `\'`,
 * joined by commas), `${name}` and `$name`. An unknown variable is an error, not left in the SQL.
 */
export function interpolateVariables(text: string, vars: Record<string, string | string[]>): string {
  return text.replace(
    /\$\{(\w+)(?::(\w+))?\}|\$(?!__)(\w+)/g,
    (whole, braced: string | undefined, format: string | undefined, bare: string | undefined) => {
      const name = (braced ?? bare)!;
      const value = vars[name];
      if (value === undefined) throw new Error(`${whole}: no variable ${name}`);
      const values = Array.isArray(value) ? value : [value];
      if (format === undefined || format === 'raw') return values.join(',');
      if (format === 'singlequote') return values.map((v) => `'${v.replace(/'/g, "\\'")}'`).join(',');
      throw new Error(`${whole}: format ${format} is not expanded here`);
    },
  );
}

export interface MacroContext {
  fromMs: number;
  toMs: number;
  /** Grafana's interval for the panel ($__interval), seconds. */
  intervalSeconds: number;
}

const dateTime = (ms: number): string => `toDateTime(${Math.floor(ms / 1000)})`;
const date = (ms: number): string => `toDate('${new Date(ms).toISOString().slice(0, 10)}')`;

/** The ClickHouse plugin's macros (v4), expanded to the literal SQL its backend sends. */
const MACROS: Record<string, (args: string[], c: MacroContext) => string> = {
  fromTime: (_, c) => dateTime(c.fromMs),
  toTime: (_, c) => dateTime(c.toMs),
  fromTime_ms: (_, c) => `fromUnixTimestamp64Milli(${c.fromMs})`,
  toTime_ms: (_, c) => `fromUnixTimestamp64Milli(${c.toMs})`,
  timeFilter: ([col], c) => `${col} >= ${dateTime(c.fromMs)} AND ${col} <= ${dateTime(c.toMs)}`,
  timeFilter_ms: ([col], c) =>
    `${col} >= fromUnixTimestamp64Milli(${c.fromMs}) AND ${col} <= fromUnixTimestamp64Milli(${c.toMs})`,
  dateFilter: ([col], c) => `${col} >= ${date(c.fromMs)} AND ${col} <= ${date(c.toMs)}`,
  dateTimeFilter: ([d, t], c) =>
    `(${d} >= ${date(c.fromMs)} AND ${d} <= ${date(c.toMs)}) AND (${t} >= ${dateTime(c.fromMs)} AND ${t} <= ${dateTime(c.toMs)})`,
  timeInterval: ([col], c) =>
    `toStartOfInterval(toDateTime(${col}), INTERVAL ${Math.max(1, Math.floor(c.intervalSeconds))} second)`,
  interval_s: (_, c) => String(Math.max(1, Math.floor(c.intervalSeconds))),
};
const ARITY: Record<string, number> = {
  timeFilter: 1,
  timeFilter_ms: 1,
  dateFilter: 1,
  dateTimeFilter: 2,
  timeInterval: 1,
};

export function expandMacros(sql: string, context: MacroContext): string {
  return sql.replace(/\$__(\w+)(?:\(([^()]*)\))?/g, (whole, name: string, rawArgs: string | undefined) => {
    const macro = MACROS[name];
    if (macro === undefined) throw new Error(`${whole}: not a macro of the ClickHouse plugin`);
    const args = rawArgs === undefined ? [] : rawArgs.split(',').map((a) => a.trim());
    const arity = ARITY[name] ?? 0;
    if (args.length !== arity) throw new Error(`${whole}: ${name} takes ${arity} argument(s)`);
    return macro(args, context);
  });
}

const SQL_KEYWORDS = new Set(
  (
    'select from where and or not in is null group by order limit desc asc as final interval distinct ' +
    'having case when then else end between like ilike with union all on join left inner offset true false'
  ).split(' '),
);
const INTERVAL_UNITS = new Set(['second', 'minute', 'hour', 'day', 'week', 'month', 'year']);

export interface SqlNames {
  /** `db.table` after FROM / JOIN. */
  tables: string[];
  /** Identifiers used as columns (not functions, keywords, aliases or interval units). */
  columns: string[];
  aliases: string[];
}

/** The names a SELECT reads, from its tokens (strings and comments dropped first). */
export function sqlNames(sql: string): SqlNames {
  const text = sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/'(?:[^'\\]|\\.)*'/g, "''");
  const tokens = text.match(/[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*|\d+(?:\.\d+)?|\S/g) ?? [];
  const tables: string[] = [];
  const aliases: string[] = [];
  const candidates: string[] = [];
  tokens.forEach((token, i) => {
    if (!/^[A-Za-z_]/.test(token)) return;
    const lower = token.toLowerCase();
    const before = tokens[i - 1]?.toLowerCase();
    if (before === 'from' || before === 'join') tables.push(token);
    else if (before === 'as') aliases.push(token);
    else if (tokens[i + 1] === '(')
      return; // a function
    else if (SQL_KEYWORDS.has(lower)) return;
    else if (INTERVAL_UNITS.has(lower) && tokens[i - 2]?.toLowerCase() === 'interval') return;
    else candidates.push(token);
  });
  return { tables, aliases, columns: candidates.filter((c) => !aliases.includes(c)) };
}

const PROM_KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
]);
const PROM_OPERATORS = new Set(['and', 'or', 'unless']);
const PROM_AGGREGATIONS = new Set(
  'sum min max avg count stddev stdvar topk bottomk quantile count_values group'.split(' '),
);

export interface PromNames {
  metrics: string[];
  /** Labels in selectors `{…}` and in by / without / on / ignoring lists. */
  labels: string[];
}

/** Metric and label names of a PromQL expression (Grafana's `$__rate_interval` and friends inside [] ranges). */
export function promNames(expr: string): PromNames {
  const labels: string[] = [];
  let text = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\[[^\]]*\]/g, ' ');
  text = text.replace(/\{([^}]*)\}/g, (_, body: string) => {
    for (const m of body.matchAll(/([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)/g)) labels.push(m[1]!);
    return ' ';
  });
  text = text.replace(
    /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g,
    (_, keyword: string, list: string) => {
      labels.push(
        ...list
          .split(',')
          .map((l) => l.trim())
          .filter(Boolean),
      );
      return ` ${keyword} `;
    },
  );
  const metrics: string[] = [];
  const tokens = text.match(/[A-Za-z_:][\w:]*|\d+(?:\.\d+)?(?:e[+-]?\d+)?|\$\w+|\S/g) ?? [];
  tokens.forEach((token, i) => {
    if (token.startsWith('$')) throw new Error(`${expr}: variable ${token} outside a range`);
    if (!/^[A-Za-z_:]/.test(token)) return;
    if (tokens[i + 1] === '(' || PROM_KEYWORDS.has(token) || PROM_OPERATORS.has(token)) return;
    if (PROM_AGGREGATIONS.has(token)) return; // `sum by (x) (…)`: the aggregation before its clause
    metrics.push(token);
  });
  return { metrics, labels };
}
