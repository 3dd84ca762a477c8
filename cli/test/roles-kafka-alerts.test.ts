import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaTopics } from '@telltale/protocol';
import { startDashboardsRole, type RunningDashboards } from '../src/index.js';
import { startKafkaMock, type KafkaMockCluster } from '../../test-support/kafka.js';
import { tempDir, waitFor } from './helpers.js';

const TOKEN = 'roles-kafka-alerts-token-0123456789-abcd';
const PREFIX = 'roles-alerts.';

/**
 * `telltale dashboards` in the Kafka deployment lists the alerts the deciders wrote to the
 * alert-log topic (startKafkaAlertReader), not its own data dir's log, which is empty there.
 */
describe('telltale dashboards with Kafka: the Alerts page reads the alert-log topic', () => {
  let mock: KafkaMockCluster;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let producer: kafkajs.Producer;
  let dashboards: RunningDashboards | undefined;

  beforeAll(async () => {
    [mock, data] = await Promise.all([startKafkaMock(), tempDir('roles-kafka-alerts')]);
    const kafka = new kafkajs.Kafka({
      brokers: [mock.bootstrap],
      clientId: 'roles-alerts-test',
      logLevel: kafkajs.logLevel.NOTHING,
    });
    producer = kafka.producer({ idempotent: false, allowAutoTopicCreation: true });
    await producer.connect();
  });
  afterAll(async () => {
    await dashboards?.close();
    await producer?.disconnect();
    await mock?.stop();
    await data?.remove();
  });

  it('an alert a decider logged to the topic is listed by the dashboards process', async () => {
    const createdAt = new Date().toISOString();
    const alert = {
      key: 'new-error:shop:g-kafka-1',
      kind: 'new-error',
      app: 'shop',
      subject: '[Telltale] new error in shop: TypeError from the topic',
      createdAt,
      status: 'sent',
      sentAt: createdAt,
      transport: 'smtp',
    };
    await producer.send({
      topic: kafkaTopics(PREFIX).alertLog,
      acks: -1,
      messages: [{ key: alert.key, value: JSON.stringify(alert), partition: 2 }],
    });
    dashboards = await startDashboardsRole({
      port: 0,
      host: '127.0.0.1',
      logger: false,
      env: {
        TELLTALE_DATA_DIR: data.dir,
        TELLTALE_API_TOKEN: TOKEN,
        TELLTALE_KAFKA_BROKERS: mock.bootstrap,
        TELLTALE_KAFKA_TOPIC_PREFIX: PREFIX,
        TELLTALE_KAFKA_IDEMPOTENT: '0',
      },
    });
    const running = dashboards;
    const listed = await waitFor('the alert from the topic on /api/alerts', async () => {
      const answer = await fetch(`${running.url}/api/alerts`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(answer.status).toBe(200);
      const body = (await answer.json()) as { alerts: { key: string; subject: string; status: string }[] };
      return body.alerts.length > 0 ? body.alerts : undefined;
    });
    expect(listed).toEqual([
      expect.objectContaining({ key: alert.key, subject: alert.subject, status: 'sent' }),
    ]);
  }, 60_000);
});
