import { readFile } from 'node:fs/promises';
import path from 'node:path';
import kafkajs from 'kafkajs';
import { kafkaTopics, type KafkaSettings } from '@telltale/protocol';
import type { AlertListQuery, AlertSummary } from '../alert-log.js';
import { outboxDir } from '../mailer.js';
import { listAcross } from './listing.js';
import { startAlertLogView, type AlertLogView } from './log-view.js';

/** How long a listing waits for the view to reach the topic's end before answering with what it has. */
const LIST_CATCH_UP_MS = 5_000;

/** The .eml of an outbox alert, by key, from whichever partition holds it. */
export async function readOutboxAlert(
  view: AlertLogView,
  dataDir: string,
  key: string,
): Promise<string | null> {
  for (const part of view.all()) {
    const file = part.index.get(key)?.file;
    // Only a bare file name inside outbox/: the key comes from a URL.
    if (file !== undefined)
      return readFile(path.join(outboxDir(dataDir), path.basename(file)), 'utf8').catch(() => null);
  }
  return null;
}

export interface KafkaAlertReader {
  listAlerts(query?: AlertListQuery): Promise<AlertSummary[]>;
  readAlert(key: string): Promise<string | null>;
  close(): Promise<void>;
}

/**
 * The alert log for a dashboards process that runs apart from the dispatchers, in the Kafka
 * deployment: the alert-log topic read from the start and tailed (never written). Outbox `.eml`
 * files are read from `dataDir`, the volume the dispatchers write them to.
 */
export async function startKafkaAlertReader(options: {
  settings: KafkaSettings;
  dataDir: string;
}): Promise<KafkaAlertReader> {
  const { settings } = options;
  const kafka = new kafkajs.Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    logLevel: kafkajs.logLevel.ERROR,
  });
  const admin = kafka.admin();
  await admin.connect();
  const topic = kafkaTopics(settings.topicPrefix).alertLog;
  let view: AlertLogView;
  try {
    view = await startAlertLogView({
      kafka,
      admin,
      topic,
      groupPrefix: `${settings.topicPrefix}dashboards-`,
    });
  } catch (error) {
    await admin.disconnect();
    throw error;
  }
  const partitions = async (): Promise<number[]> =>
    (await admin.fetchTopicOffsets(topic)).map((o) => o.partition);
  return {
    async listAlerts(query) {
      // A page right after start shows the whole log, not the first fetch of it; a slow broker gets what is read.
      await view.caughtUp(await partitions(), LIST_CATCH_UP_MS).catch(() => undefined);
      return listAcross(view.all(), query);
    },
    readAlert: (key) => readOutboxAlert(view, options.dataDir, key),
    async close() {
      await view.close();
      await admin.disconnect();
    },
  };
}
