import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, it } from 'vitest';
import { createMailer } from './index.ts';
import { runMailContract } from './mail.contract.ts';
import { OutboxMailer } from './outbox-mail.ts';

const FROM = 'Parley <no-reply@parley.local>';
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'parley-outbox-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function emlFiles(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.eml')).sort();
}

describe('OutboxMailer (contract)', () => {
  runMailContract({
    noRefusalReason: 'an outbox folder has no server that could refuse a recipient',
    async create() {
      const dir = await mkdtemp(path.join(tmpdir(), 'parley-outbox-contract-'));
      const mailer = new OutboxMailer({ dir: path.join(dir, 'outbox'), from: FROM });
      return {
        mailer,
        defaultFrom: FROM,
        delivered: async () => Promise.all((await emlFiles(mailer.dir)).map((f) => readFile(path.join(mailer.dir, f)))),
        async close() {
          await mailer.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  });
});

describe('OutboxMailer files', () => {
  it('writes one .eml per message, in send order by name, and no temporary file', async () => {
    const dir = await tempDir();
    const mailer = new OutboxMailer({ dir, from: FROM });
    const first = await mailer.send({ to: 'a@example.org', subject: 'first', text: '1' });
    const second = await mailer.send({ to: 'b@example.org', subject: 'second', text: '2' });
    expect(await readdir(dir)).toHaveLength(2);
    const files = await emlFiles(dir);
    const parsed = await Promise.all(files.map(async (f) => simpleParser(await readFile(path.join(dir, f)))));
    expect(parsed.map((p) => p.messageId)).toEqual([first.messageId, second.messageId]);
  });

  it('writes standard CRLF messages that carry Date and MIME headers', async () => {
    const dir = await tempDir();
    await new OutboxMailer({ dir, from: FROM }).send({ to: 'a@example.org', subject: 's', text: 'line1\nline2' });
    const raw = await readFile(path.join(dir, (await emlFiles(dir))[0]!), 'latin1');
    expect(raw).toMatch(/^Date: /m);
    expect(raw).toMatch(/^MIME-Version: 1.0\r$/m);
    expect(raw.replace(/\r\n/g, '')).not.toContain('\n');
  });

  it('creates the folder on first send and on ping', async () => {
    const dir = path.join(await tempDir(), 'nested', 'outbox');
    const mailer = new OutboxMailer({ dir, from: FROM });
    await mailer.ping();
    expect(await readdir(dir)).toEqual([]);
  });

  it('reports an outbox that cannot be created on ping', async () => {
    const parent = await tempDir();
    await writeFile(path.join(parent, 'file'), 'x');
    const mailer = new OutboxMailer({ dir: path.join(parent, 'file', 'outbox'), from: FROM });
    await expect(mailer.ping()).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  });

  it('is what createMailer builds for kind "outbox"', async () => {
    const dir = await tempDir();
    const mailer = createMailer({ mail: { kind: 'outbox', dir, from: FROM } });
    expect(mailer).toBeInstanceOf(OutboxMailer);
    await mailer.send({ to: 'a@example.org', subject: 's', text: 't' });
    expect(await emlFiles(dir)).toHaveLength(1);
  });
});
