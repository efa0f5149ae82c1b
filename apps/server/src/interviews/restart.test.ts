import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TAnswer, TSessionView } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalStorage } from '../infra/storage/local-storage.ts';
import { loadOrCreateMasterKey } from '../infra/storage/master-key.ts';
import { nextLinkTokens } from '../shared/testing/outbox.ts';
import { ApiClient } from '../shared/testing/test-server.ts';

const CLI = path.resolve(import.meta.dirname, '..', 'cli.ts');
const SPEECH = path.resolve(import.meta.dirname, '..', '..', '..', '..', '..', 'shared', 'data', 'speech');

/**
 * `parley start` as its own process on the embedded defaults (PGlite in DATA_DIR/pg, encrypted
 * files in DATA_DIR/objects, keys in DATA_DIR/keys), killed with SIGKILL — no shutdown code runs,
 * as in a crash or an OOM kill — and started again on the same DATA_DIR.
 */
class ServerProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly api: ApiClient,
  ) {}

  static async start(dataDir: string): Promise<ServerProcess> {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'start'], {
      env: {
        ...process.env,
        DATA_DIR: dataDir,
        // The worker sends the invitation e-mail.
        ROLES: 'gateway,interview,realtime,worker',
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'warn',
        PASSWORD_SCRYPT_N: '1024',
        PUBLIC_URL: 'https://parley.test',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const server = new ServerProcess(child, new ApiClient(`http://127.0.0.1:${port}`));
    await server.ready();
    return server;
  }

  /** SIGKILL, then waits until the process is gone. */
  async kill(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }

  private async ready(): Promise<void> {
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`parley start exited with ${this.child.exitCode}`);
      const ok = await fetch(`${this.api.baseUrl}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return;
      if (Date.now() > deadline) throw new Error('parley start was not ready in 90 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

let dataDir: string;
let server: ServerProcess | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'parley-restart-'));
});
afterAll(async () => {
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('no loss across a process restart (embedded mode)', () => {
  it('after SIGKILL, acknowledged answers and recordings are there and the session resumes where it was', async () => {
    server = await ServerProcess.start(dataDir);
    let api = server.api;
    const admin = (
      await api.call('POST', '/api/auth/sign-up', {
        body: { orgName: 'Restart', name: 'Rita', email: 'rita@restart.test', password: 'correct horse battery' },
      })
    ).body.accessToken as string;
    const ids: string[] = [];
    for (const text of ['Tell us about yourself.', 'Describe a hard bug.', 'Why this role?']) {
      const q = await api.call('POST', '/api/questions', {
        token: admin,
        body: {
          text,
          category: 'general',
          difficulty: 2,
          tags: [],
          expectedSeconds: 120,
          rubric: {
            criteria: [
              {
                key: 'substance',
                name: 'Substance',
                weight: 1,
                anchors: { '1': 'Off topic', '3': 'Relevant but thin', '5': 'Specific and complete' },
              },
            ],
            keyConcepts: [],
          },
        },
      });
      expect(q.status).toBe(201);
      ids.push(q.body.id);
    }
    const interview = await api.call('POST', '/api/interviews', {
      token: admin,
      body: {
        title: 'Restart interview',
        settings: {
          language: 'en',
          deadline: null,
          emotionPolicy: 'off',
          weights: { answers: 1, emotion: 0, behavioral: 0 },
        },
        questions: ids.map((questionId) => ({ questionId, prepSeconds: 0, answerSeconds: 3600 })),
      },
    });
    expect(interview.status).toBe(201);
    expect((await api.call('POST', `/api/interviews/${interview.body.id}/publish`, { token: admin })).status).toBe(200);
    const invited = await api.call('POST', `/api/interviews/${interview.body.id}/invitations`, {
      token: admin,
      body: { candidates: [{ name: 'Casey', email: 'casey@restart.test' }] },
    });
    expect(invited.status).toBe(201);
    const [link] = await nextLinkTokens(path.join(dataDir, 'outbox'), 'casey@restart.test', new Set(), 30_000);
    const accepted = await api.call('POST', '/api/invitations/accept', { body: { token: link } });
    expect(accepted.status).toBe(200);
    const sessionId = accepted.body.sessionId as string;
    const candidate = accepted.body.tokens.accessToken as string;
    const session = `/api/sessions/${sessionId}`;
    expect(
      (
        await api.call('POST', `${session}/consent`, {
          token: candidate,
          body: { aiNotice: true, recording: true, videoAnalysis: false, textVersion: 'v1' },
        })
      ).status,
    ).toBe(200);
    expect((await api.call('POST', `${session}/start`, { token: candidate })).status).toBe(200);

    // A typed answer, the next question, and a recording: each acknowledged.
    const typed = 'I build reliable backend systems and test them.';
    expect(
      (await api.call('POST', `${session}/answers/text`, { token: candidate, body: { position: 0, text: typed } }))
        .status,
    ).toBe(200);
    expect((await api.call('POST', `${session}/next`, { token: candidate, body: { position: 0 } })).status).toBe(200);
    const wav = readFileSync(path.join(SPEECH, 'q1_good.wav'));
    const uploaded = await api.call<TAnswer>('PUT', `${session}/answers/1/recording`, {
      token: candidate,
      body: wav,
      headers: { 'content-type': 'audio/wav' },
    });
    expect(uploaded.status).toBe(201);
    const before = (await api.call<TSessionView>('GET', session, { token: candidate })).body;

    await server.kill();
    server = await ServerProcess.start(dataDir);
    api = server.api;

    // The same tokens work (keys live in DATA_DIR); the session is where it was, with the same deadline.
    const after = await api.call<TSessionView>('GET', session, { token: candidate });
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({
      status: 'in_progress',
      current: { position: 1, attempt: 1, hasRecording: true },
    });
    expect(after.body.current!.answerEndsAt).toBe(before.current!.answerEndsAt);
    const remaining = Date.parse(after.body.current!.answerEndsAt) - Date.parse(after.body.serverTime);
    expect(after.body.current!.answerRemainingMs).toBe(remaining);
    expect(after.body.current!.answerRemainingMs).toBeLessThanOrEqual(before.current!.answerRemainingMs);

    const answers = (await api.call<{ answers: TAnswer[] }>('GET', `${session}/answers`, { token: candidate })).body
      .answers;
    expect(answers.map((a) => [a.position, a.textAnswer, a.mediaKey])).toEqual([
      [0, typed, null],
      [1, null, uploaded.body.mediaKey],
    ]);
    // The recording's bytes, decrypted with the master key kept in DATA_DIR.
    const storage = await createLocalStorage({
      root: path.join(dataDir, 'objects'),
      masterKey: await loadOrCreateMasterKey(dataDir),
    });
    try {
      expect(Buffer.compare((await storage.get(uploaded.body.mediaKey!)).bytes, wav)).toBe(0);
    } finally {
      await storage.close();
    }

    // And the interview goes on from there.
    expect((await api.call('POST', `${session}/next`, { token: candidate, body: { position: 1 } })).status).toBe(200);
    expect(
      (await api.call('POST', `${session}/answers/text`, { token: candidate, body: { position: 2, text: 'Impact.' } }))
        .status,
    ).toBe(200);
    expect((await api.call('POST', `${session}/complete`, { token: candidate })).body.status).toBe('completed');
  }, 240_000);
});
