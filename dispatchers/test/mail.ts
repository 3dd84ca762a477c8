// The SMTP harness lives in test-support/smtp.ts (shared by every package's tests); this path stays for
// the tests that import it from here.
export {
  parseMail,
  startSmtpServer,
  type ParsedMessage,
  type ReceivedMail,
  type SmtpServer,
} from '../../test-support/smtp.js';
