import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { describe, expect, it } from 'vitest';
import { createMailer } from './index.ts';
import { runMailContract } from './mail.contract.ts';
import { SmtpMailer } from './smtp-mail.ts';

// A real SMTP peer (smtp-server) started in this process: every message goes over TCP through
// EHLO, AUTH, MAIL FROM, RCPT TO and DATA, and is kept as the raw bytes received.
const FROM = 'Parley <no-reply@parley.local>';
const USER = 'parley';
const PASS = 'sm7p-s3cret';

interface Peer {
  url: string;
  received: { raw: Buffer; from?: string; to: string[] }[];
  close(): Promise<void>;
}

async function startPeer(extra: Partial<SMTPServerOptions> = {}): Promise<Peer> {
  const received: Peer['received'] = [];
  const server = new SMTPServer({
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === USER && auth.password === PASS) cb(null, { user: USER });
      else cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onRcptTo(address, _session, cb) {
      if (address.address.startsWith('refused@')) {
        cb(Object.assign(new Error('Mailbox unavailable'), { responseCode: 550 }));
      } else if (address.address.startsWith('later@')) {
        cb(Object.assign(new Error('Try again later'), { responseCode: 451 }));
      } else cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          raw: Buffer.concat(chunks),
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
          to: session.envelope.rcptTo.map((r) => r.address),
        });
        cb();
      });
    },
    ...extra,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://${USER}:${PASS}@127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('SmtpMailer (contract)', () => {
  runMailContract({
    refusedRecipient: 'refused@example.org',
    async create() {
      const peer = await startPeer();
      const mailer = new SmtpMailer({ url: peer.url, from: FROM });
      return {
        mailer,
        defaultFrom: FROM,
        delivered: async () => peer.received.map((r) => r.raw),
        async close() {
          await mailer.close();
          await peer.close();
        },
      };
    },
  });
});

describe('SmtpMailer specifics', () => {
  it('sends the envelope sender and recipient the message names', async () => {
    const peer = await startPeer();
    const mailer = new SmtpMailer({ url: peer.url, from: FROM });
    await mailer.send({ to: 'Zoë <zoe@example.org>', subject: 's', text: 't' });
    expect(peer.received.map((r) => ({ from: r.from, to: r.to }))).toEqual([
      { from: 'no-reply@parley.local', to: ['zoe@example.org'] },
    ]);
    await mailer.close();
    await peer.close();
  });

  it('treats a temporary refusal (4xx) as SERVICE_UNAVAILABLE, to be retried', async () => {
    const peer = await startPeer();
    const mailer = new SmtpMailer({ url: peer.url, from: FROM });
    await expect(mailer.send({ to: 'later@example.org', subject: 's', text: 't' })).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
    });
    await mailer.close();
    await peer.close();
  });

  it('fails ping and send with wrong credentials', async () => {
    const peer = await startPeer();
    const mailer = new SmtpMailer({ url: peer.url.replace(PASS, 'wrong'), from: FROM });
    await expect(mailer.ping()).rejects.toMatchObject({ code: 'UPSTREAM_FAILED' });
    await expect(mailer.send({ to: 'a@example.org', subject: 's', text: 't' })).rejects.toMatchObject({
      code: 'UPSTREAM_FAILED',
    });
    expect(peer.received).toHaveLength(0);
    await mailer.close();
    await peer.close();
  });

  it('fails ping and send with SERVICE_UNAVAILABLE when no server listens', async () => {
    const peer = await startPeer();
    const url = peer.url;
    await peer.close();
    const mailer = new SmtpMailer({ url, from: FROM });
    await expect(mailer.ping()).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    await expect(mailer.send({ to: 'a@example.org', subject: 's', text: 't' })).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
    });
    await mailer.close();
  });

  it('is what createMailer builds for kind "smtp"', async () => {
    const peer = await startPeer();
    const mailer = createMailer({ mail: { kind: 'smtp', url: peer.url, from: FROM } });
    expect(mailer).toBeInstanceOf(SmtpMailer);
    await mailer.send({ to: 'a@example.org', subject: 's', text: 't' });
    expect(peer.received).toHaveLength(1);
    await mailer.close();
    await peer.close();
  });
});
