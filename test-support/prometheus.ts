/**
 * A strict reader of the Prometheus text format (0.0.4), so tests check /metrics the way a scraper
 * reads it: every sample line must parse, every metric must have one HELP and one TYPE.
 */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromText {
  samples: PromSample[];
  /** Metric family name → its TYPE (counter, gauge, histogram, summary, untyped). */
  types: Map<string, string>;
  help: Map<string, string>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]{0,200})(\{(.{0,4000})\})? (\S{1,40})$/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]{0,100})="((?:[^"\\]|\\.){0,2000})"(,|$)/;

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const m = LABEL.exec(rest);
    if (m === null) throw new Error(`bad labels in ${JSON.stringify(line)}`);
    const [whole, key, raw] = m as unknown as [string, string, string];
    if (key in labels) throw new Error(`label ${key} twice in ${JSON.stringify(line)}`);
    labels[key] = raw.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(whole.length);
  }
  return labels;
}

const parseValue = (text: string, line: string): number => {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN' || text === 'Nan') return NaN;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new Error(`bad value in ${JSON.stringify(line)}`);
  return value;
};

export function parsePrometheus(text: string): PromText {
  const out: PromText = { samples: [], types: new Map(), help: new Map() };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S{1,200}) (.{1,2000})$/.exec(line);
    if (meta !== null) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      const map = kind === 'HELP' ? out.help : out.types;
      if (map.has(name)) throw new Error(`${kind} twice for ${name}`);
      map.set(name, rest);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (m === null) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    out.samples.push({
      name: m[1]!,
      labels: m[3] === undefined ? {} : parseLabels(m[3], line),
      value: parseValue(m[4]!, line),
    });
  }
  for (const sample of out.samples) {
    const family = [sample.name, sample.name.replace(/_(bucket|sum|count)$/, '')].find((n) =>
      out.types.has(n),
    );
    if (family === undefined) throw new Error(`sample ${sample.name} has no TYPE line`);
  }
  return out;
}

/** The samples named `name` whose labels include `labels`. */
export function samplesOf(prom: PromText, name: string, labels: Record<string, string> = {}): PromSample[] {
  return prom.samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

/** The one sample named `name` with exactly these labels (plus none other); throws when absent or ambiguous. */
export function valueOf(prom: PromText, name: string, labels: Record<string, string> = {}): number {
  const found = samplesOf(prom, name, labels).filter(
    (s) => Object.keys(s.labels).length === Object.keys(labels).length,
  );
  if (found.length !== 1)
    throw new Error(`${found.length} samples of ${name}${JSON.stringify(labels)} (want 1)`);
  return found[0]!.value;
}
