/**
 * The behaviour every `Mailer` must have. Each implementation's test runs `runMailContract` with a
 * harness that can read back what was delivered (outbox files, or what an SMTP peer received).
 */
import { simpleParser, type ParsedMail } from 'mailparser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/app-error.ts';
import type { Mailer } from './mail.ts';

export interface MailHarness {
  mailer: Mailer;
  /** The sender used when a message names none. */
  defaultFrom: string;
  /** Every raw RFC 822 message delivered since the harness was made, in any order. */
  delivered(): Promise<Buffer[]>;
  close(): Promise<void>;
}

export interface MailContractOptions {
  create(): Promise<MailHarness>;
  /**
   * An address the peer refuses at RCPT TO. Without one, `noRefusalReason` says why the
   * refusal test cannot apply.
   */
  refusedRecipient?: string;
  noRefusalReason?: string;
}

async function parsedMessages(h: MailHarness): Promise<ParsedMail[]> {
  return Promise.all((await h.delivered()).map((raw) => simpleParser(raw)));
}

async function only(h: MailHarness): Promise<ParsedMail> {
  const all = await parsedMessages(h);
  expect(all).toHaveLength(1);
  return all[0]!;
}

const addressOf = (field: ParsedMail['to'] | ParsedMail['from']): { address?: string; name: string }[] =>
  (Array.isArray(field) ? field : field ? [field] : []).flatMap((a) =>
    a.value.map((v) => ({ address: v.address, name: v.name })),
  );

export function runMailContract(options: MailContractOptions): void {
  let h: MailHarness;
  beforeEach(async () => {
    h = await options.create();
  });
  afterEach(async () => {
    await h?.close();
  });

  describe('delivery', () => {
    it('delivers text and HTML parts intact, UTF-8 in names, subject and bodies', async () => {
      const text = 'Bonjour Zoë,\n\nVotre entretien est prêt: 面接の準備ができました ✅\n\nÀ bientôt';
      const html =
        '<p>Bonjour <b>Zoë</b>,</p><p>面接の準備ができました ✅ — <a href="https://parley.example/i/1">ouvrir</a></p>';
      await h.mailer.send({
        to: 'Zoë Ångström <zoe@example.org>',
        subject: 'Entretien confirmé — 面接 ✅',
        text,
        html,
      });
      const mail = await only(h);
      expect(mail.subject).toBe('Entretien confirmé — 面接 ✅');
      expect(addressOf(mail.to)).toEqual([{ address: 'zoe@example.org', name: 'Zoë Ångström' }]);
      expect(mail.text?.replace(/\r\n/g, '\n').trimEnd()).toBe(text);
      expect(mail.html && mail.html.replace(/\r\n/g, '\n').trimEnd()).toBe(html);
    });

    it('sends text-only mail without an HTML part', async () => {
      await h.mailer.send({ to: 'a@example.org', subject: 'Plain', text: 'just text' });
      const mail = await only(h);
      expect(mail.text?.trimEnd()).toBe('just text');
      expect(mail.html).toBe(false);
    });

    it('uses the configured sender by default and keeps an explicit one', async () => {
      await h.mailer.send({ to: 'a@example.org', subject: 'default', text: '1' });
      await h.mailer.send({ to: 'a@example.org', subject: 'explicit', text: '2', from: 'Équipe RH <rh@acme.example>' });
      const bySubject = new Map((await parsedMessages(h)).map((m) => [m.subject, m]));
      const expectedDefault = h.defaultFrom.match(/<([^>]+)>/)?.[1] ?? h.defaultFrom;
      expect(addressOf(bySubject.get('default')?.from)[0]?.address).toBe(expectedDefault);
      expect(addressOf(bySubject.get('explicit')?.from)).toEqual([{ address: 'rh@acme.example', name: 'Équipe RH' }]);
    });

    it('keeps custom headers', async () => {
      await h.mailer.send({
        to: 'a@example.org',
        subject: 'with headers',
        text: 'x',
        headers: { 'X-Parley-Session': 'sess_123', 'List-Unsubscribe': '<mailto:unsub@parley.example>' },
      });
      const mail = await only(h);
      expect(mail.headers.get('x-parley-session')).toBe('sess_123');
      // mailparser folds List-* headers into a structure; the raw line is what a client sees.
      expect(mail.headerLines.find((l) => l.key === 'list-unsubscribe')?.line).toBe(
        'List-Unsubscribe: <mailto:unsub@parley.example>',
      );
    });

    it('returns the Message-ID the delivered message carries', async () => {
      const { messageId } = await h.mailer.send({ to: 'a@example.org', subject: 'id', text: 'x' });
      expect(messageId).toMatch(/^<[^<>\s]+@[^<>\s]+>$/);
      expect((await only(h)).messageId).toBe(messageId);
    });

    it('delivers several messages, each once, with distinct Message-IDs', async () => {
      const sent = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          h.mailer.send({ to: `candidate${i}@example.org`, subject: `Invitation ${i}`, text: `Hello ${i}` }),
        ),
      );
      const mails = await parsedMessages(h);
      expect(mails).toHaveLength(6);
      expect(new Set(mails.map((m) => m.messageId))).toEqual(new Set(sent.map((s) => s.messageId)));
      expect(mails.map((m) => m.subject).sort()).toEqual(Array.from({ length: 6 }, (_, i) => `Invitation ${i}`));
    });
  });

  describe('refusals', () => {
    const refusal = 'surfaces a recipient the server refuses as an error, not a silent success';
    if (options.refusedRecipient) {
      it(refusal, async () => {
        const err = await h.mailer.send({ to: options.refusedRecipient!, subject: 'x', text: 'x' }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(AppError);
        expect((err as AppError).code).toBe('UPSTREAM_FAILED');
        expect(await h.delivered()).toHaveLength(0);
      });
    } else {
      it.skip(`${refusal} (skipped: ${options.noRefusalReason ?? 'no refusing peer'})`, () => {});
    }

    it.each([
      ['a malformed recipient', { to: 'not an address' }],
      ['an empty recipient', { to: '' }],
      ['a malformed sender', { from: 'nobody' }],
      ['two senders', { from: 'a@example.org, b@example.org' }],
      ['a line break in the subject (header injection)', { subject: 'Hi\r\nBcc: victim@example.org' }],
      ['a line break in a header value', { headers: { 'X-Note': 'a\nBcc: victim@example.org' } }],
      ['a header name with a colon', { headers: { 'X:Y': 'v' } }],
      ['a header the mailer owns', { headers: { 'Message-ID': '<forged@example.org>' } }],
    ])('refuses %s with VALIDATION_FAILED and delivers nothing', async (_, patch) => {
      const message = { to: 'a@example.org', subject: 'ok', text: 'ok', ...patch };
      await expect(h.mailer.send(message)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(await h.delivered()).toHaveLength(0);
    });
  });

  it('answers ping when healthy', async () => {
    await expect(h.mailer.ping()).resolves.toBeUndefined();
  });
}
