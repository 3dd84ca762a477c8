/** Content-Encodings Sentry's SDKs and Relay speak: gzip (@sentry/node above 32 KB), deflate, none. */
export type SentryEncoding = 'gzip' | 'deflate' | 'identity';

export function parseSentryEncoding(header: string | string[] | undefined): SentryEncoding | undefined {
  if (header === undefined) return 'identity';
  if (Array.isArray(header)) return undefined;
  const value = header.trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  if (value === 'deflate') return 'deflate';
  return undefined;
}
