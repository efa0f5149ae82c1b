import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { startServer, type RunningServer } from './server.ts';

describe('one process on embedded defaults', () => {
  let dataDir: string;
  let server: RunningServer;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'parley-boot-'));
    server = await startServer(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', PORT: '0' }));
  });
  afterAll(async () => {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('runs every role and reports each adapter ready by name', async () => {
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; roles: string[]; checks: { name: string; ok: boolean }[] };
    expect(body.status).toBe('ready');
    expect(body.roles).toEqual(['gateway', 'interview', 'realtime', 'emotion', 'scoring', 'worker']);
    expect(body.checks.map((c) => c.name).sort()).toEqual(['broker', 'cache', 'database', 'mail', 'storage']);
    expect(body.checks.every((c) => c.ok)).toBe(true);
  });

  it('serves liveness, metrics, the OpenAPI document with the account routes, and the web app', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${server.url}/metrics`)).text()).toContain('http_request_duration_seconds');
    const openapi = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining(['/api/auth/sign-in', '/api/auth/refresh', '/readyz']),
    );
    const home = await fetch(`${server.url}/`);
    expect(home.status).toBe(200);
  });
});

describe('a subset of roles', () => {
  it('builds only the adapters its roles need', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'parley-roles-'));
    const server = await startServer(
      loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', PORT: '0', ROLES: 'gateway' }),
    );
    try {
      const body = (await (await fetch(`${server.url}/readyz`)).json()) as {
        roles: string[];
        checks: { name: string }[];
      };
      expect(body.roles).toEqual(['gateway']);
      expect(body.checks.map((c) => c.name)).toEqual(['cache']);
    } finally {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
