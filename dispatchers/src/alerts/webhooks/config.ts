import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  jsonErrorWhere,
  parseWebhookDestinations,
  TelltaleError,
  type WebhookDestination,
} from '@telltale/protocol';
import type { AppWebhooks } from './delivery-log.js';

function invalid(field: string, problem: string): never {
  throw new TelltaleError('TELLTALE_ERR_INVALID_CONFIG', `${field}: ${problem}`);
}

/**
 * Validates webhooks given per app (`{ "<app>": [{ type, url, secret? }] }`), as options or from the
 * apps file; `field(app)` names an app's list in messages. One id is one URL across all apps.
 */
export function resolveAppWebhooks(
  entries: Iterable<[string, unknown]>,
  field: (app: string) => string,
): AppWebhooks {
  const webhooks = new Map<string, readonly WebhookDestination[]>();
  const urls = new Map<string, string>();
  for (const [app, raw] of entries) {
    const list = parseWebhookDestinations(raw, field(app));
    list.forEach((destination, i) => {
      const known = urls.get(destination.id);
      if (known !== undefined && known !== destination.url)
        invalid(
          `${field(app)}[${i}].id`,
          `"${destination.id}" names another URL in another app; ids are global`,
        );
      urls.set(destination.id, destination.url);
    });
    if (list.length > 0) webhooks.set(app, Object.freeze([...(webhooks.get(app) ?? []), ...list]));
  }
  return webhooks;
}

/**
 * The webhooks of every app in the apps file (`telltale.config.json`, the collector's): read once at
 * start. An absent file has none; one that is not JSON, or whose webhooks do not validate, stops the
 * start (a dispatcher of its own would otherwise drop every webhook without a word).
 */
export function readAppWebhooks(file: string): AppWebhooks {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    return invalid(file, `cannot be read (${(error as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return invalid(file, jsonErrorWhere(text, error));
  }
  const apps = (raw as { apps?: unknown } | null)?.apps;
  if (!Array.isArray(apps)) return new Map();
  const name = path.basename(file);
  const entries: Array<[string, unknown]> = [];
  apps.forEach((app: unknown, i) => {
    const { id, webhooks } = (app ?? {}) as { id?: unknown; webhooks?: unknown };
    if (webhooks === undefined) return;
    if (typeof id !== 'string') invalid(`${name} apps[${i}].id`, 'must be the app id its webhooks belong to');
    entries.push([`${i}\n${id}`, webhooks]);
  });
  const byIndex = resolveAppWebhooks(entries, (key) => `${name} apps[${key.split('\n')[0] ?? ''}].webhooks`);
  return new Map([...byIndex].map(([key, list]) => [key.slice(key.indexOf('\n') + 1), list]));
}
