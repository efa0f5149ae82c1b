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
