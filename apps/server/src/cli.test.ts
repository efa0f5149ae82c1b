import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { startServer } from './server.ts';

const CLI = path.resolve(import.meta.dirname, 'cli.ts');

function run(
  args: string[],
  env: Record<string, string>,
  stdin = '',
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      env: { ...process.env, LOG_LEVEL: 'warn', PASSWORD_SCRYPT_N: '1024', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += String(c)));
    child.stderr.on('data', (c) => (err += String(c)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
    child.stdin.end(stdin);
  });
}

describe('parley CLI', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'parley-cli-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('creates the first admin with the password from stdin, and the admin can sign in', async () => {
    const created = await run(
      ['admin', 'create', '--email', 'boss@acme.test', '--org', 'Acme'],
      { DATA_DIR: dataDir },
      'a very long password\n',
    );
    expect(created.err).toBe('');
    expect(created.code).toBe(0);
    expect(created.out).toContain('admin boss@acme.test created');

    const again = await run(
      ['admin', 'create', '--email', 'BOSS@acme.test', '--org', 'Acme'],
      { DATA_DIR: dataDir },
      'a very long password\n',
    );
    expect(again.code).toBe(1);
    expect(again.err).toContain('ALREADY_EXISTS');

    const server = await startServer(
      loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', PORT: '0', PASSWORD_SCRYPT_N: '1024' }),
    );
    try {
      const res = await fetch(`${server.url}/api/auth/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'boss@acme.test', password: 'a very long password' }),
      });
      expect(res.status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it('refuses a short password and missing options', async () => {
    const short = await run(
      ['admin', 'create', '--email', 'x@acme.test', '--org', 'Acme'],
      { DATA_DIR: dataDir },
      'short\n',
    );
    expect([short.code, short.err]).toEqual([1, expect.stringContaining('VALIDATION_FAILED')]);
    const missing = await run(['admin', 'create', '--email', 'x@acme.test'], { DATA_DIR: dataDir });
    expect(missing.code).toBe(2);
  });

  it('stops boot with exit code 2 and a message naming a bad variable', async () => {
    const bad = await run(['start'], { DATA_DIR: dataDir, PORT: 'eighty' });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('PORT');
  });
});
