/**
 * Outgoing mail. Implementations: an outbox folder with one `.eml` per message (embedded
 * default) and SMTP. Both pass `mail.contract.ts`.
 */
export interface Mailer {
  send(message: MailMessage): Promise<{ messageId: string }>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** Defaults to the configured sender. */
  from?: string;
  headers?: Record<string, string>;
}
