import { parseRetryAfter } from '../../pipeline/index.js';
import type { WebhookRequest } from './payload.js';

/** One attempt's outcome, in the sinks' result shape: `rejected` is never retried. */
export type PostResult =
  | { status: 'ok' }
  | { status: 'retryable'; error: string; retryAfterMs?: number }
  | { status: 'rejected'; error: string };

/** A receiver that has not answered in this long is retried later (its request may still land: the key dedupes). */
export const WEBHOOK_TIMEOUT_MS = 10_000;

/** 408 and 429 say "later"; every 5xx may be passing. Other 4xx will answer the same next time. */
const isRetryable = (code: number): boolean => code === 408 || code === 429 || code >= 500;

/**
 * POSTs one webhook with global fetch: no redirects followed (a 3xx is a misconfigured URL, and
 * following it would hand the signed body to another host), bounded by a timeout, the answer's
 * body discarded. Errors name a status or a socket code, never the URL (it may be the secret).
 */
export async function postWebhook(
  url: string,
  request: WebhookRequest,
  timeoutMs: number = WEBHOOK_TIMEOUT_MS,
): Promise<PostResult> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    return { status: 'retryable', error: describeFailure(error) };
  }
  await response.body?.cancel().catch(() => undefined);
  const code = response.status;
  if (code >= 200 && code < 300) return { status: 'ok' };
  if (code >= 300 && code < 400)
    return { status: 'rejected', error: `HTTP ${code} (redirects are not followed)` };
  if (!isRetryable(code)) return { status: 'rejected', error: `HTTP ${code}` };
  const retryAfterMs = parseRetryAfter((name) => response.headers.get(name));
  return retryAfterMs === undefined
    ? { status: 'retryable', error: `HTTP ${code}` }
    : { status: 'retryable', error: `HTTP ${code}`, retryAfterMs };
}

function describeFailure(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'))
    return 'timeout';
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string' && /^[A-Z_]{1,40}$/.test(cause.code)) return cause.code;
  return 'network error';
}
