import { afterEach, describe, expect, it } from 'vitest';
import { oneProcess, splitProcesses, type Deployment } from '../shared/testing/layouts.ts';

const ADMIN = { orgName: 'Acme', name: 'Ada', email: 'ada@acme.test', password: 'correct horse battery' };

describe('gateway', () => {
  let d: Deployment | undefined;
  afterEach(async () => {
    await d?.close();
    d = undefined;
  });

  it('limits a flood of bad tokens per IP, answering 429 with Retry-After, and never limits probes', async () => {
    d = await oneProcess({ RATE_LIMIT_IP_PER_MIN: '5' });
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) codes.push((await d.api.call('GET', '/api/me', { token: `bad-${i}` })).status);
    expect(codes).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    const limited = await d.api.call('GET', '/api/no-such-route');
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect((await d.api.call('GET', '/healthz')).status).toBe(200);
  });

  it('limits each user per endpoint, independently of other users', async () => {
    d = await oneProcess({ RATE_LIMIT_USER_PER_MIN: '3' });
    const { accessToken } = (await d.api.call('POST', '/api/auth/sign-up', { body: ADMIN })).body;
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await d.api.call('GET', '/api/me', { token: accessToken })).status);
    expect(codes).toEqual([200, 200, 200, 429, 429]);
    // Another endpoint has its own window.
    expect((await d.api.call('GET', '/api/users', { token: accessToken })).status).toBe(200);
  });

  it('answers 503 with a code when no instance of the owning role is reachable', async () => {
    d = await splitProcesses();
    for (const p of d.processes.filter((x) => x.role === 'interview')) await p.server.stop();
    const res = await d.api.call('GET', '/api/me');
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('SERVICE_UNAVAILABLE');
  });

  it('refuses an oversized body with 413 before it reaches a role', async () => {
    d = await oneProcess({ BODY_LIMIT_BYTES: '2048' });
    const res = await d.api.call('POST', '/api/auth/sign-in', {
      body: { email: 'a@b.test', password: 'x'.repeat(5000) },
    });
    expect([res.status, res.body.error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
  });
});

describe('gateway in front of a separate realtime process', () => {
  it('upgrades /ws to the realtime instance and the socket works end to end', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const os = await import('node:os');
    const path = await import('node:path');
    const { default: WebSocket } = await import('ws');
    const { startTestServer } = await import('../shared/testing/test-server.ts');
    const { MemoryCacheHub } = await import('../infra/cache/memory-cache.ts');
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'parley-ws-split-'));
    const cacheHub = new MemoryCacheHub();
    const backend = await startTestServer({ ROLES: 'interview,realtime' }, { dataDir, cacheHub });
    const gateway = await startTestServer(
      { ROLES: 'gateway', UPSTREAMS: `interview=${backend.url};realtime=${backend.url}` },
      { dataDir, cacheHub },
    );
    try {
      const { accessToken } = (await gateway.api.call('POST', '/api/auth/sign-up', { body: ADMIN })).body;
      const url = `${gateway.url.replace(/^http/, 'ws')}/ws?access_token=${accessToken}`;
      const first = await new Promise<{ type: string }>((resolve, reject) => {
        const socket = new WebSocket(url);
        socket.once('message', (data: Buffer) => {
          resolve(JSON.parse(data.toString()) as { type: string });
          socket.close();
        });
        socket.once('error', reject);
      });
      expect(first.type).toBe('ready');
      // A refused upgrade (forged token) is answered through the tunnel and leaves nothing open:
      // both servers still close (the finally below would hang otherwise).
      const refused = await new Promise<string>((resolve) => {
        const socket = new WebSocket(`${gateway.url.replace(/^http/, 'ws')}/ws?access_token=forged`);
        socket.once('unexpected-response', (_req, res) => {
          resolve(String(res.statusCode));
          res.resume();
          socket.terminate();
        });
        socket.once('error', (err) => resolve(err.message));
        socket.once('open', () => resolve('open'));
      });
      expect(refused).toBe('401');
    } finally {
      await gateway.close();
      await backend.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
