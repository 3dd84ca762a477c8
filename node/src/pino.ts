import { parentPort } from 'node:worker_threads';
import build from 'pino-abstract-transport';
import { openJournalWriter } from './journal-writer.js';
import { segmentMaxBytes, startShipping, STATS_EVENT } from './shipping.js';
import { resolveTransportConfig, type TransportOptions } from './transport-config.js';

export type { TransportOptions } from './transport-config.js';
export type { TransportStats } from './shipping.js';
export { STATS_EVENT } from './shipping.js';

/**
 * The pino transport (`target: '@telltale/node/pino'`), run by pino in a worker thread: each line is
 * appended to the local journal and shipped in the background, as `telltaleDestination` does.
 * The app's thread only hands lines to pino's ring buffer, so nothing here can make it wait; but a
 * kill -9 of the app loses the lines still in that ring buffer (memory). `telltaleDestination`
 * writes each line to the journal on the app's thread instead, and loses none.
 */
export default async function telltaleTransport(options: TransportOptions) {
  const config = resolveTransportConfig(options);
  const writer = openJournalWriter({
    dir: config.dir,
    segmentMaxBytes: segmentMaxBytes(config.maxBufferBytes),
    who: '@telltale/node/pino',
  });
  let received = 0;
  const shipping = await startShipping(config, {
    counters: () => ({ received, ...writer.counters() }),
    // thread-stream turns an EVENT message into an event on the app's transport stream.
    report: (stats) => parentPort?.postMessage({ code: 'EVENT', name: STATS_EVENT, args: [stats] }),
  });

  return build(
    (source) => {
      // Raw lines: the journal keeps them as pino wrote them; the shipper parses and scrubs them once.
      source.on('data', (line: string) => {
        received += 1;
        writer.append(line);
        shipping.wake();
      });
    },
    {
      parse: 'lines',
      async close() {
        await shipping.stop();
        writer.close();
      },
    },
  );
}
