import { BlobServiceClient, type ContainerClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { parseRetryAfter } from '../../retry.js';
import type { ExportResult } from '../types.js';

/**
 * A container from a storage connection string (Azure, or Azurite's devstoreaccount1). The SDK's
 * own retries are off: the dispatcher's one retry wrapper decides when to try again.
 */
export function containerFromConnectionString(
  connectionString: string,
  container: string,
  options: StoragePipelineOptions = {},
): ContainerClient {
  const service = BlobServiceClient.fromConnectionString(connectionString, {
    ...options,
    retryOptions: { maxTries: 1, tryTimeoutInMs: 60_000, ...options.retryOptions },
  });
  return service.getContainerClient(container);
}

/** Storage errors: throttling, 5xx, timeouts, auth and network wait; a 400 (bad name, bad body) is the data's fault. */
export function classifyStorageError(error: unknown): Exclude<ExportResult, { status: 'ok' }> {
  const e = error as {
    statusCode?: number;
    code?: string;
    message?: string;
    response?: { headers?: { get(name: string): string | undefined } };
  };
  const reason = `${e.statusCode === undefined ? (e.code ?? 'request failed') : `HTTP ${e.statusCode}`}: ${String(
    e.message ?? error,
  )
    .split('\n')[0]!
    .slice(0, 300)}`;
  if (e.statusCode === 400) return { status: 'rejected', reason };
  const retryAfterMs = parseRetryAfter((name) => e.response?.headers?.get(name));
  return retryAfterMs === undefined
    ? { status: 'retryable', reason }
    : { status: 'retryable', reason, retryAfterMs };
}
