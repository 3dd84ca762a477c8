import { describe, expect, it } from 'vitest';
import { kafkaRecordKey, kafkaSettingsFromEnv, kafkaTopics } from '../src/index.js';

describe('Kafka settings', () => {
  it('is off when no brokers are set, or the variable is empty', () => {
    expect(kafkaSettingsFromEnv({})).toBeUndefined();
    expect(kafkaSettingsFromEnv({ TELLTALE_KAFKA_BROKERS: ' ' })).toBeUndefined();
  });

  it('reads brokers, client id, prefix and the idempotent switch', () => {
    expect(
      kafkaSettingsFromEnv({
        TELLTALE_KAFKA_BROKERS: 'kafka:9092, kafka-2:9093',
        TELLTALE_KAFKA_CLIENT_ID: 'collector-1',
        TELLTALE_KAFKA_TOPIC_PREFIX: 'acme.',
        TELLTALE_KAFKA_IDEMPOTENT: '0',
      }),
    ).toEqual({
      brokers: ['kafka:9092', 'kafka-2:9093'],
      clientId: 'collector-1',
      topicPrefix: 'acme.',
      idempotent: false,
    });
    expect(kafkaSettingsFromEnv({ TELLTALE_KAFKA_BROKERS: '127.0.0.1:1' })).toEqual({
      brokers: ['127.0.0.1:1'],
      clientId: 'telltale',
      topicPrefix: 'telltale.',
      idempotent: true,
    });
  });

  it('names the field, the value and the fix', () => {
    expect(() => kafkaSettingsFromEnv({ TELLTALE_KAFKA_BROKERS: 'kafka' })).toThrow(
      /TELLTALE_KAFKA_BROKERS: "kafka" is not host:port/,
    );
    expect(() =>
      kafkaSettingsFromEnv({ TELLTALE_KAFKA_BROKERS: 'k:1', TELLTALE_KAFKA_IDEMPOTENT: 'yes' }),
    ).toThrow(/TELLTALE_KAFKA_IDEMPOTENT: "yes" must be 1/);
  });

  it('names topics from the prefix and keeps a session on one key', () => {
    expect(kafkaTopics('telltale.').client).toBe('telltale.client');
    expect(kafkaTopics('x-').alertLog).toBe('x-alert-log');
    expect(kafkaRecordKey('web', 's1')).toBe('web/s1');
    expect(kafkaRecordKey('web', undefined)).toBe('web');
  });
});
