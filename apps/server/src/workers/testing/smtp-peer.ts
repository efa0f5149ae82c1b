/**
 * A real SMTP server (smtp-server) in the test process: every e-mail crosses TCP and is parsed
 * back with mailparser. Recipients can be refused for good (550) or deferred once (451).
 */
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface SmtpPeer {
  url: string;
  mails: ParsedMail[];
  /** Recipients refused with 550 (permanent). */
  refuse: Set<string>;
  /** Recipients answered 451 (try again later) the first time they are named, accepted after. */
  deferOnce: Set<string>;
  /** Every refused or deferred RCPT, in order. */
  refused: string[];
  close(): Promise<void>;
}

export async function startSmtpPeer(): Promise<SmtpPeer> {
  const mails: ParsedMail[] = [];
  const refuse = new Set<string>();
  const deferOnce = new Set<string>();
  const refused: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _s, cb) {
      const to = address.address;
      if (refuse.has(to)) {
        refused.push(to);
        cb(Object.assign(new Error('Mailbox unavailable'), { responseCode: 550 }));
      } else if (deferOnce.delete(to)) {
        refused.push(to);
        cb(Object.assign(new Error('Greylisted, try again later'), { responseCode: 451 }));
      } else cb();
    },
    onData(stream, _s, cb) {
      simpleParser(stream).then(
        (m) => {
          mails.push(m);
          cb();
        },
        (err: Error) => cb(err),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    refuse,
    deferOnce,
    refused,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The addresses a parsed mail was sent to. */
export const recipientsOf = (m: ParsedMail): string[] =>
  (Array.isArray(m.to) ? m.to : m.to ? [m.to] : []).flatMap((a) => a.value.map((v) => v.address ?? ''));
