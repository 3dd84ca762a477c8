/**
 * The ingest decode pool's worker (piscina loads this file in each thread): inflated request
 * bytes → the spool payload, off the HTTP event loop. Stateless: the same decodeIngest runs inline
 * for small bodies and must give the same answer.
 */
import { decodeIngest, type IngestDecoded, type IngestTask } from './ingest-decode.js';
import type { DecodeFailure } from './decode.js';

export default function decode(task: IngestTask): IngestDecoded | DecodeFailure {
  return decodeIngest(task);
}
