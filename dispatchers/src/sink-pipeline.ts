import type { ErrorIntelligence } from './intelligence/index.js';
import type { DispatcherConfig } from './config.js';
import {
  guardSink,
  type GuardedSink,
  createSink,
  type SinkFactoryDeps,
  type SinkKind,
  type Sink,
} from './pipeline/index.js';

/**
 * A sink as the live consumers use it: rows regrouped on symbolicated frames (error intelligence),
 * behind the circuit breaker. `startDispatchers`, `telltale replay` and `telltale dlq replay` all
 * build their sinks here, so a replayed error lands in the same group as a live one.
 */
export async function buildSinkPipeline(
  sink: SinkKind | Sink,
  config: DispatcherConfig,
  deps: SinkFactoryDeps,
  intel: Pick<ErrorIntelligence, 'wrapSink'>,
): Promise<GuardedSink> {
  const inner = typeof sink === 'string' ? await createSink(sink, config, deps) : sink;
  return guardSink(intel.wrapSink(inner));
}
