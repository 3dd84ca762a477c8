import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { TelltaleError } from './errors.js';
import { DEFAULT_DATA_DIR } from './data-layout.js';

/**
 * One setting read from the environment: its variable, its TypeBox schema (type, bounds and
 * default) and, for the error message, what a valid value looks like. Each service's settings are
 * one table of these; docs/configuration.md lists every variable of every table (a test checks).
 */
export interface EnvSetting<S extends TSchema = TSchema> {
  readonly env: string;
  readonly schema: S;
  /** Completes `TELLTALE_X: "<value>" …`, e.g. `is not a port number (0-65535)`. */
  readonly expected: string;
  /** Never echo the value (passwords, tokens, URLs that may carry credentials). */
  readonly secret?: boolean;
}

export type EnvTable = Readonly<Record<string, EnvSetting>>;
export type EnvValues<T extends EnvTable> = { -readonly [K in keyof T]: Static<T[K]['schema']> };

/** Stops start-up: the message names the field (or variable) and says what would be valid. */
export function invalidConfig(field: string, problem: string): never {
  throw new TelltaleError('TELLTALE_ERR_INVALID_CONFIG', `${field}: ${problem}`);
}

/**
 * The one rule for empty values, in every service: a variable that is unset, empty or only
 * whitespace counts as unset, so its default applies (`TELLTALE_PORT=` is port 8080 everywhere;
 * `TELLTALE_PORT=0` asks for a free port). Values are trimmed.
 */
export function envText(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
}

const NUMBER_TEXT = /^-?\d{1,16}(?:\.\d{1,16})?$/;

/** Text from the environment as the schema's type; undefined when it cannot be that type. */
function fromText(schema: TSchema, text: string): unknown {
  const type = (schema as { type?: string }).type;
  if (type === 'integer' || type === 'number') return NUMBER_TEXT.test(text) ? Number(text) : text;
  if (type === 'boolean') {
    if (text === '1' || text === 'true') return true;
    if (text === '0' || text === 'false') return false;
    return text;
  }
  return text;
}

function check<S extends TSchema>(setting: EnvSetting<S>, field: string, value: unknown): Static<S> {
  if (Value.Check(setting.schema, value)) return value;
  return invalidConfig(field, setting.secret ? setting.expected : `"${String(value)}" ${setting.expected}`);
}

/**
 * One setting: an explicit option wins (its field named in errors), else the variable (named in
 * errors), else the schema's default (undefined when it has none).
 */
export function readSetting<S extends TSchema>(
  setting: EnvSetting<S>,
  env: NodeJS.ProcessEnv,
  option?: { field: string; value: unknown },
): Static<S> {
  if (option !== undefined && option.value !== undefined) return check(setting, option.field, option.value);
  const text = envText(env, setting.env);
  if (text !== undefined) return check(setting, setting.env, fromText(setting.schema, text));
  return (setting.schema as { default?: unknown }).default as Static<S>;
}

/** Every setting of a table, options first (keyed like the table), then the environment, then defaults. */
export function readEnvTable<T extends EnvTable>(
  table: T,
  env: NodeJS.ProcessEnv,
  options: Partial<Record<keyof T, unknown>> = {},
  prefix = '',
): EnvValues<T> {
  const out: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(table))
    out[key] = readSetting(setting, env, { field: `${prefix}${key}`, value: options[key] });
  return out as EnvValues<T>;
}

/** An integer setting with bounds and a default. */
export const intSetting = (
  env: string,
  min: number,
  max: number,
  fallback: number | undefined,
  unit: string,
) =>
  ({
    env,
    schema: Type.Integer({
      minimum: min,
      maximum: max,
      ...(fallback === undefined ? {} : { default: fallback }),
    }),
    expected: `must be a whole number ${unit === '' ? '' : `of ${unit} `}from ${min} to ${max}`,
  }) satisfies EnvSetting;

export const portSetting = (env: string, fallback?: number) =>
  ({
    env,
    schema: Type.Integer({
      minimum: 0,
      maximum: 65535,
      ...(fallback === undefined ? {} : { default: fallback }),
    }),
    expected: 'is not a port number (0-65535)',
  }) satisfies EnvSetting;

/** One of a fixed list of words. */
export function choiceSetting<const W extends string>(
  env: string,
  words: readonly [W, ...W[]],
  fallback?: W,
) {
  const [first, ...rest] = words.map((word) => Type.Literal(word));
  return {
    env,
    schema: Type.Union([first!, ...rest], fallback === undefined ? {} : { default: fallback }),
    expected: `is not one of ${words.join(', ')}`,
  } satisfies EnvSetting;
}

/** 1/true or 0/false; no default unless given. */
export const booleanSetting = (env: string, expected: string, fallback?: boolean) =>
  ({
    env,
    schema: Type.Boolean(fallback === undefined ? {} : { default: fallback }),
    expected,
  }) satisfies EnvSetting;

/** A number above 0 and at most max (hours, days, fractions of them). */
export const positiveSetting = (env: string, max: number, fallback: number, unit: string) =>
  ({
    env,
    schema: Type.Number({ exclusiveMinimum: 0, maximum: max, default: fallback }),
    expected: `is not a positive number of ${unit} (at most ${max})`,
  }) satisfies EnvSetting;

/** Free text matching a pattern (anchored, linear); no default. */
export const textSetting = (env: string, pattern: string, expected: string, secret = false) =>
  ({ env, schema: Type.String({ pattern }), expected, secret }) satisfies EnvSetting;

const API_TOKEN = '^[A-Za-z0-9_-]{32,128}$';

/**
 * The settings every listening service reads the same way (`telltale start`, the standalone
 * collector, the separate roles): where it listens, where its data is, the admin token.
 */
export const SERVICE_SETTINGS = {
  host: {
    env: 'TELLTALE_HOST',
    schema: Type.String({ minLength: 1, default: '127.0.0.1' }),
    expected: 'must not be empty (use 127.0.0.1, or 0.0.0.0 to listen everywhere)',
  },
  port: portSetting('TELLTALE_PORT', 8080),
  dataDir: {
    env: 'TELLTALE_DATA_DIR',
    schema: Type.String({ minLength: 1, default: DEFAULT_DATA_DIR }),
    expected: 'must be a directory path',
  },
  apiToken: textSetting(
    'TELLTALE_API_TOKEN',
    API_TOKEN,
    'must be 32-128 characters of A-Z, a-z, 0-9, "_" or "-" (e.g. openssl rand -hex 24)',
    true,
  ),
} as const satisfies EnvTable;
