import { createCircuitBreaker, type BreakerPolicy, type CircuitBreaker } from '../retry.js';
import type { EncodedEvents, ExportResult, RawBatch, ServerLogRow, Sink } from './types.js';

export interface GuardedSink extends Sink {
  readonly breaker: CircuitBreaker;
}

/**
 * Puts a sink behind the circuit breaker: while it is open, exports answer "retry later" without a
 * call, so a dead ClickHouse is not hammered by every consumer; then one probe decides. The consumer
 * loop's backoff (retry.ts) waits at least as long as the breaker says.
 */
export function guardSink(sink: Sink, policy?: BreakerPolicy, now?: () => number): GuardedSink {
  const breaker = createCircuitBreaker(policy, now);
  const call = async (run: () => Promise<ExportResult>): Promise<ExportResult> => {
    const wait = breaker.check();
    if (wait !== undefined)
      return {
        status: 'retryable',
        retryAfterMs: wait,
        reason: `circuit open, next probe in ${Math.ceil(wait / 1000)} s`,
      };
    let result: ExportResult;
    try {
      result = await run();
    } catch (error) {
      // A sink must not throw; one that does is treated as down, never as "done".
      result = { status: 'retryable', reason: error instanceof Error ? error.message : String(error) };
    }
    // A rejection is the data's fault: the sink answered, so it is alive.
    breaker.record(result.status !== 'retryable');
    return result;
  };
  const exportServerLogs = sink.exportServerLogs?.bind(sink);
  const exportEncoded = sink.exportEncoded?.bind(sink);
  const dropDaysBefore = sink.dropDaysBefore?.bind(sink);
  return {
    name: sink.name,
    breaker,
    ...(sink.batching === undefined ? {} : { batching: sink.batching }),
    export: (events, raw) => call(() => sink.export(events, raw)),
    ...(sink.encoding === undefined || exportEncoded === undefined
      ? {}
      : {
          encoding: sink.encoding,
          exportEncoded: (batch: EncodedEvents, raw?: readonly RawBatch[]) =>
            call(() => exportEncoded(batch, raw)),
        }),
    ...(exportServerLogs === undefined
      ? {}
      : {
          exportServerLogs: (logs: ServerLogRow[], raw?: readonly RawBatch[]) =>
            call(() => exportServerLogs(logs, raw)),
        }),
    ...(dropDaysBefore === undefined ? {} : { dropDaysBefore }),
    close: () => sink.close(),
  };
}
