import type { Config } from '../../config.ts';
import type { Mailer } from './mail.ts';
import { OutboxMailer } from './outbox-mail.ts';
import { SmtpMailer } from './smtp-mail.ts';

export type { Mailer, MailMessage } from './mail.ts';
export { OutboxMailer } from './outbox-mail.ts';
export { SmtpMailer } from './smtp-mail.ts';

/** The configured mailer: an outbox folder (default) or SMTP (`SMTP_URL`). */
export function createMailer(config: Pick<Config, 'mail'>): Mailer {
  const m = config.mail;
  switch (m.kind) {
    case 'outbox':
      return new OutboxMailer({ dir: m.dir, from: m.from });
    case 'smtp':
      return new SmtpMailer({ url: m.url, from: m.from });
  }
}
