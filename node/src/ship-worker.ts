// The shipping worker of `telltaleDestination`: reads the journal the app's thread appends to, and
// ships it. It writes nothing the app needs: killing it (or the app) loses no line.
import { parentPort, workerData } from 'node:worker_threads';
import { startShipping, type WriterCounters } from './shipping.js';
import type { TransportConfig } from './transport-config.js';

// Validated by telltaleDestination on the app's thread before this worker started.
const { config } = workerData as { config: TransportConfig };
// The app's thread counts lines in and on disk; it posts them, and they ride along in each report.
let counters: WriterCounters = { received: 0, written: 0, failed: 0 };
const shipping = await startShipping(config, {
  counters: () => counters,
  report: (stats) => parentPort!.postMessage({ type: 'stats', stats }),
});
parentPort!.on('message', (message: { type: string; counters?: WriterCounters }) => {
  if (message.type === 'counters' && message.counters) counters = message.counters;
  if (message.type === 'stop')
    void shipping.stop().finally(() => {
      parentPort!.postMessage({ type: 'stopped' });
      parentPort!.close();
    });
});
parentPort!.postMessage({ type: 'ready' });
