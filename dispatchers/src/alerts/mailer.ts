import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { DispatcherConfig } from '../config.js';
import type { AlertTransport } from './alert-log.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, writeFileDurably } from '@telltale/spool';
import { dataLayout } from '@telltale/protocol';

export interface OutgoingAlert {
  subject: string;
  text: string;
  html?: string | undefined;
  /** Stable per alert, so a re-send after a crash is recognisable as the same message. */
  messageId: string;
  date: Date;
  /** Outbox only: the file name to write under outbox/. */
  file?: string | undefined;
}

export interface Mailer {
  readonly transport: AlertTransport;
  /** Throws when the message was not accepted; the alerter retries. */
  send(message: OutgoingAlert): Promise<void>;
  close(): Promise<void>;
}

// Short socket timeouts: a hanging SMTP server must fail an attempt, not stall the send queue for minutes.
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

export function outboxDir(dataDir: string): string {
  return dataLayout(dataDir).outbox;
}

/** `2024-05-01T12-00-00-000Z-new-error-shop-3f9a…` — sortable by time, readable, safe on every file system. */
export function outboxFileName(createdAt: string, key: string): string {
  const slug = key
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|(?<!-)-+$/g, '')
    .slice(0, 100);
  return `${createdAt.replace(/[:.]/g, '-')}-${slug}.eml`;
}

/** SMTP when configured; otherwise raw .eml files in <data>/outbox/, so `npm start` alerts with no setup. */
export function createMailer(config: DispatcherConfig): Mailer {
  const to = config.alertTo ?? config.alertFrom;
  const headers = (m: OutgoingAlert) => ({
    from: config.alertFrom,
    to,
    subject: m.subject,
    text: m.text,
    html: m.html,
    messageId: m.messageId,
    date: m.date,
  });

  if (config.smtpUrl !== undefined) {
    const transporter = nodemailer.createTransport({ url: config.smtpUrl, ...SMTP_TIMEOUTS });
    return {
      transport: 'smtp',
      async send(message) {
        await transporter.sendMail(headers(message));
      },
      async close() {
        transporter.close();
      },
    };
  }

  const dir = outboxDir(config.dataDir);
  const transporter = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    transport: 'outbox',
    async send(message) {
      if (message.file === undefined) throw new Error('outbox alert without a file name');
      const info = await transporter.sendMail(headers(message));
      if (!Buffer.isBuffer(info.message)) throw new Error('stream transport did not return a buffer');
      // Outbox mails carry error messages and user ids: this user only, like every raw copy.
      await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
      await writeFileDurably(path.join(dir, path.basename(message.file)), info.message, PRIVATE_FILE_MODE);
    },
    async close() {
      transporter.close();
    },
  };
}
