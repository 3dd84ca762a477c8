import { Gauge, type Registry } from 'prom-client';
import type { KafkaForwarderStats } from './forwarder.js';
import type { LaneStats } from './lane.js';

/**
 * The forwarder's figures on the collector's registry, read at scrape time: how far Kafka is
 * behind the spools (the number to alert on while Kafka is down) and whether it is reachable.
 */
export function registerForwarderMetrics(registry: Registry, read: () => KafkaForwarderStats): void {
  const registers = [registry];
  const perLane = (name: string, help: string, pick: (lane: LaneStats) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['spool'],
      registers,
      collect() {
        const stats = read();
        this.set({ spool: 'client' }, pick(stats.client));
        this.set({ spool: 'server' }, pick(stats.server));
      },
    });
  };
  // Gauges, not counters: the lane keeps the totals, a scrape only copies them.
  perLane(
    'telltale_kafka_forwarded_records',
    'Spool records produced to Kafka (acks = all) and committed since start.',
    (l) => l.forwarded,
  );
  perLane('telltale_kafka_forward_lag_records', 'Spool records not yet in Kafka.', (l) => l.lagRecords);
  perLane(
    'telltale_kafka_forward_lag_segments',
    'Spool segment files held because some of their records are not yet in Kafka.',
    (l) => l.lagSegments,
  );
  perLane(
    'telltale_kafka_forward_dead_lettered_records',
    'Spool records Kafka refused even alone (too large), dead-lettered and skipped since start.',
    (l) => l.deadLettered,
  );
  perLane('telltale_kafka_forward_failures', 'Failed produce attempts since start.', (l) => l.failures);
  new Gauge({
    name: 'telltale_kafka_forward_connected',
    help: '1 while the producer is connected and the last produce succeeded; 0 while Kafka is down.',
    registers,
    collect() {
      this.set(read().connected ? 1 : 0);
    },
  });
}
