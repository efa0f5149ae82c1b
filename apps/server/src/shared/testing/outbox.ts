import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleParser } from 'mailparser';

export interface OutboxMail {
  to: string[];
  subject: string;
  text: string;
}

/** The messages of an outbox folder, oldest first, decoded (MIME, quoted-printable) by mailparser. */
export async function readOutbox(dir: string): Promise<OutboxMail[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.eml')).sort();
  return Promise.all(
    names.map(async (name) => {
      const mail = await simpleParser(await readFile(path.join(dir, name)));
      const to = [mail.to ?? []].flat().flatMap((a) => a.value.map((v) => v.address ?? ''));
      return { to, subject: mail.subject ?? '', text: mail.text ?? '' };
    }),
  );
}

/** Each message as one searchable string: recipients, subject and text. */
export async function outboxTexts(dir: string): Promise<string[]> {
  return (await readOutbox(dir)).map((m) => `To: ${m.to.join(', ')}\nSubject: ${m.subject}\n\n${m.text}`);
}

/** Link tokens (`#token=…`) mailed to `email` that are not in `seen` yet; adds them to it. */
export async function newLinkTokens(dir: string, email: string, seen: Set<string>): Promise<string[]> {
  const tokens: string[] = [];
  for (const mail of await readOutbox(dir)) {
    if (!mail.to.includes(email)) continue;
    const token = /#token=([A-Za-z0-9_-]+)/.exec(mail.text)?.[1];
    if (token && !seen.has(token)) {
      seen.add(token);
      tokens.push(token);
    }
  }
  return tokens;
}

/**
 * Waits (bounded) for a link mailed to `email` that is not in `seen` yet. Invitation e-mails are
 * sent by the workers' `notification.email` job after the request has answered, not on it.
 */
export async function nextLinkTokens(dir: string, email: string, seen: Set<string>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const tokens = await newLinkTokens(dir, email, seen);
    if (tokens.length > 0) return tokens;
    if (Date.now() > deadline) throw new Error(`no new link mailed to ${email} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The newest message (as `outboxTexts` gives it) that `matches`, waiting for it within a bound:
 * e-mail is sent by a job shortly after the request that asked for it.
 */
export async function waitForMail(
  outbox: () => Promise<string[]>,
  matches: (mail: string) => boolean,
  timeoutMs = 15_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mail = (await outbox()).filter(matches).at(-1);
    if (mail !== undefined) return mail;
    if (Date.now() > deadline) throw new Error(`no matching e-mail in the outbox within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
