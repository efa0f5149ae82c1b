import { randomUUID } from 'node:crypto';
import { access, constants, mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { AppError } from '../../shared/app-error.ts';
import { composeMail } from './compose.ts';
import type { MailMessage, Mailer } from './mail.ts';

export interface OutboxMailerOptions {
  dir: string;
  from: string;
}

/**
 * The embedded mailer: each message becomes one RFC 822 file `<time>-<id>.eml` in a folder, as
 * an SMTP server would have received it (any mail client opens it). Files appear whole: written
 * to a dot-file first, then renamed.
 */
export class OutboxMailer implements Mailer {
  readonly dir: string;
  private readonly from: string;
  private readonly transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });

  constructor(options: OutboxMailerOptions) {
    this.dir = path.resolve(options.dir);
    this.from = options.from;
  }

  async send(message: MailMessage): Promise<{ messageId: string }> {
    const mail = composeMail(message, this.from);
    const info = await this.transport.sendMail(mail);
    const raw = info.message;
    if (!Buffer.isBuffer(raw)) throw new AppError('INTERNAL', 'The mail composer did not return a buffer');
    await mkdir(this.dir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const name = `${stamp}-${randomUUID()}.eml`;
    const tmp = path.join(this.dir, `.${name}.tmp`);
    try {
      const handle = await open(tmp, 'wx', 0o600);
      try {
        await handle.writeFile(raw);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, path.join(this.dir, name));
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return { messageId: info.messageId };
  }

  async ping(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true });
      await access(this.dir, constants.W_OK);
    } catch (err) {
      throw new AppError('SERVICE_UNAVAILABLE', `Outbox ${this.dir} is not writable: ${(err as Error).message}`);
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
