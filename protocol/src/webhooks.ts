import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { TelltaleError } from './errors.js';

/**
 * Where an app's alerts go besides email: one entry of `apps[].webhooks` in telltale.config.json.
 * `json` is Telltale's own signed payload; `slack` and `teams` are their incoming-webhook formats.
 */
export const WebhookDestinationSchema = Type.Object(
  {
    /** Names the destination in the alert log and on the Alerts page; default `<type>-<hash of the URL>`. */
    id: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$' })),
    type: Type.Union([Type.Literal('json'), Type.Literal('slack'), Type.Literal('teams')]),
    url: Type.String({ minLength: 8, maxLength: 2048, pattern: '^https?://' }),
    /** HMAC-SHA256 key of the `Telltale-Signature` header (json only). */
    secret: Type.Optional(Type.String({ minLength: 16, maxLength: 256 })),
  },
  { additionalProperties: false },
);
export const WebhookDestinationsSchema = Type.Array(WebhookDestinationSchema, { maxItems: 10 });
export type WebhookDestinationOptions = Static<typeof WebhookDestinationSchema>;

/** A validated destination. Its `url` and `secret` are secrets (a Slack URL is its own key): show `host` only. */
export interface WebhookDestination {
  readonly id: string;
  readonly type: 'json' | 'slack' | 'teams';
  readonly url: string;
  readonly host: string;
  readonly secret?: string;
}

const checker = TypeCompiler.Compile(WebhookDestinationsSchema);

function invalid(field: string, problem: string): never {
  throw new TelltaleError('TELLTALE_ERR_INVALID_CONFIG', `${field}: ${problem}`);
}

const FIELD_HELP: Record<string, string> = {
  id: 'must be 1-64 characters of A-Z, a-z, 0-9, "_" or "-", starting with a letter or digit',
  type: 'must be "json", "slack" or "teams"',
  url: 'must be an http:// or https:// URL of at most 2048 characters',
  secret: 'must be 16-256 characters',
};

/**
 * Validates one app's `webhooks` list (`field` names it in messages, e.g.
 * `telltale.config.json apps[0].webhooks`). Never echoes a URL or secret: config errors end up in logs.
 */
export function parseWebhookDestinations(raw: unknown, field: string): WebhookDestination[] {
  if (raw === undefined) return [];
  if (!checker.Check(raw)) {
    const first = checker.Errors(raw).First();
    const parts = (first?.path ?? '').split('/').filter((p) => p !== '');
    const [index, name] = parts;
    if (index === undefined) invalid(field, 'must be a list of at most 10 { type, url, secret? } objects');
    const where = `${field}[${index}]${name === undefined ? '' : `.${name}`}`;
    if (name === undefined) invalid(where, 'must be an object { type, url, secret?, id? }');
    const help = FIELD_HELP[name];
    invalid(where, help ?? `unknown setting; expected one of ${Object.keys(FIELD_HELP).join(', ')}`);
  }
  const ids = new Set<string>();
  return raw.map((entry, i) => {
    let url: URL;
    try {
      url = new URL(entry.url);
    } catch {
      return invalid(`${field}[${i}].url`, FIELD_HELP.url ?? '');
    }
    if (url.username !== '' || url.password !== '')
      invalid(`${field}[${i}].url`, 'must not carry a user name or password');
    if (entry.secret !== undefined && entry.type !== 'json')
      invalid(
        `${field}[${i}].secret`,
        'only json webhooks are signed; Slack and Teams URLs are their own secret',
      );
    const id =
      entry.id ?? `${entry.type}-${createHash('sha256').update(entry.url).digest('hex').slice(0, 12)}`;
    if (ids.has(id))
      invalid(`${field}[${i}].id`, `"${id}" is used twice; give each webhook its own id or URL`);
    ids.add(id);
    const destination: WebhookDestination = { id, type: entry.type, url: url.href, host: url.host };
    return Object.freeze(entry.secret === undefined ? destination : { ...destination, secret: entry.secret });
  });
}
