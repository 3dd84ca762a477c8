// A real SMTP server (smtp-server) in the test's process; messages are parsed by mailparser, so a
// test asserts on the decoded subject and text, never on hand-decoded MIME.
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** Envelope sender (MAIL FROM). */
  from: string;
  /** Envelope recipients (RCPT TO). */
  to: string[];
  /** Decoded Subject header. */
  subject: string;
  /** The decoded text/plain part ('' when there is none). */
  text: string;
  /** The HTML part, or '' when there is none. */
  html: string;
  /** The message as received. */
  raw: string;
  /** Everything mailparser read (headers, attachments). */
  parsed: ParsedMail;
}

export interface SmtpServer {
  url: string;
  port: number;
  /** Every message accepted, in the order their DATA ended; each is parsed before it is acknowledged. */
  messages: ReceivedMail[];
  close(): Promise<void>;
}

/** One message as headers and parts, decoded (RFC 2047 words, quoted-printable, base64, charsets). */
export interface ParsedMessage {
  subject: string;
  /** The To and From headers as text. */
  to: string;
  from: string;
  text: string;
  html: string;
  parsed: ParsedMail;
}

/** Parses one raw message (e.g. an .eml the mailer wrote to its outbox). */
export async function parseMail(raw: string | Buffer): Promise<ParsedMessage> {
  const parsed = await simpleParser(raw);
  const addresses = (value: ParsedMail['to']) =>
    value === undefined ? '' : (Array.isArray(value) ? value : [value]).map((a) => a.text).join(', ');
  return {
    subject: parsed.subject ?? '',
    to: addresses(parsed.to),
    from: addresses(parsed.from),
    text: parsed.text ?? '',
    html: typeof parsed.html === 'string' ? parsed.html : '',
    parsed,
  };
}

/**
 * A real SMTP server on 127.0.0.1 (port 0: a free one the kernel picks) that keeps every message it
 * accepts. AUTH is offered but optional, so a mailer with or without credentials gets through.
 */
export async function startSmtpServer(port = 0): Promise<SmtpServer> {
  const messages: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    onAuth: (_auth, _session, callback) => callback(null, { user: 'test' }),
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const bytes = Buffer.concat(chunks);
        parseMail(bytes).then(
          (mail) => {
            messages.push({
              from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
              to: session.envelope.rcptTo.map((r) => r.address),
              subject: mail.subject,
              text: mail.text,
              html: mail.html,
              raw: bytes.toString('utf8'),
              parsed: mail.parsed,
            });
            callback();
          },
          (error: Error) => callback(error),
        );
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${address.port}`,
    port: address.port,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
