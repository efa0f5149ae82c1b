import nodemailer from 'nodemailer';
import { AppError, isAppError } from '../../shared/app-error.ts';
import { composeMail } from './compose.ts';
import type { MailMessage, Mailer } from './mail.ts';

export interface SmtpMailerOptions {
  /** smtp://user:pass@host:587 (STARTTLS when offered) or smtps://…:465; query options as nodemailer's. */
  url: string;
  from: string;
}

const NETWORK_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNREFUSED', 'ECONNRESET', 'ETLS']);

/** Sends through an SMTP server (pooled connections). Refused recipients are errors. */
export class SmtpMailer implements Mailer {
  private readonly from: string;
  private readonly transport;

  constructor(options: SmtpMailerOptions) {
    this.from = options.from;
    this.transport = nodemailer.createTransport({
      url: options.url,
      pool: true,
      maxConnections: 2,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
  }

  async send(message: MailMessage): Promise<{ messageId: string }> {
    const mail = composeMail(message, this.from);
    try {
      const info = await this.transport.sendMail(mail);
      // With several recipients the server may accept some; the caller still has to know.
      if (info.rejected.length > 0) {
        throw new AppError('UPSTREAM_FAILED', `The SMTP server refused ${formatAddresses(info.rejected)}`, {
          rejected: info.rejected.map(String),
          response: info.response,
        });
      }
      return { messageId: info.messageId };
    } catch (err) {
      throw mapError(err);
    }
  }

  async ping(): Promise<void> {
    try {
      await this.transport.verify();
    } catch (err) {
      throw mapError(err);
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

function formatAddresses(list: unknown[]): string {
  return list.map((a) => (typeof a === 'string' ? a : ((a as { address?: string }).address ?? String(a)))).join(', ');
}

/**
 * Temporary failures (network, 4xx) are SERVICE_UNAVAILABLE, which a job retries; permanent ones
 * (5xx, refused recipient, bad credentials) are UPSTREAM_FAILED.
 */
function mapError(err: unknown): AppError {
  if (isAppError(err)) return err;
  const e = err as { code?: string; responseCode?: number; response?: string; message?: string; rejected?: unknown };
  const message = e.message ?? String(err);
  const details = { code: e.code, responseCode: e.responseCode, response: e.response };
  if ((e.code && NETWORK_CODES.has(e.code)) || (e.responseCode !== undefined && e.responseCode < 500)) {
    return new AppError('SERVICE_UNAVAILABLE', `SMTP is unavailable: ${message}`, details);
  }
  if (e.code === 'EENVELOPE')
    return new AppError('UPSTREAM_FAILED', `The SMTP server refused the message: ${message}`, details);
  if (e.code === 'EAUTH') return new AppError('UPSTREAM_FAILED', `SMTP authentication failed: ${message}`, details);
  return new AppError('UPSTREAM_FAILED', `SMTP failed: ${message}`, details);
}
