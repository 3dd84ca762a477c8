import { DSN_KEY_PATTERN, type CollectorApp } from '../apps.js';

/**
 * The DSN a Sentry SDK takes for an app: `http(s)://<ingest key>@<host>[:port]/<project id>`, with
 * the first of its ingest keys that Sentry's DSN parser accepts (`\w+`); undefined when none does.
 */
export function sentryDsn(
  app: Pick<CollectorApp, 'ingestKeys' | 'projectId'>,
  baseUrl: string,
): string | undefined {
  const key = app.ingestKeys.find((k) => DSN_KEY_PATTERN.test(k));
  if (key === undefined) return undefined;
  const url = new URL(baseUrl);
  return `${url.protocol}//${key}@${url.host}${url.pathname.replace(/\/$/, '')}/${app.projectId}`;
}
