import { outboxTexts } from './outbox.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../config.ts';
import type { Database } from '../../infra/db/database.ts';
import { createTestDatabase } from '../../infra/db/testing.ts';
import type { MemoryCacheHub } from '../../infra/cache/memory-cache.ts';
import { startServer, type RunningServer } from '../../server.ts';

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** A small JSON client over real HTTP, so the same tests run against one process or a split deployment. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  async call<T = any>(
    method: string,
    url: string,
    options: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | ArrayBuffer | undefined;
    if (options.body instanceof Uint8Array) {
      // A copy in an ArrayBuffer of its own: accepted as a body under both Node's and the DOM's typings.
      body = options.body.slice().buffer;
    } else if (options.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    }
    const res = await this.fetchImpl(new URL(url, this.baseUrl), { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed as T };
  }
}

export interface TestServer extends RunningServer {
  config: Config;
  dataDir: string;
  api: ApiClient;
  /** Messages in the mail outbox, oldest first, decoded: recipients, subject and the text part. */
  outbox(): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * Starts a real Parley process in this test process on embedded adapters (PGlite cloned from the
 * migrated snapshot, in-memory cache and bus, encrypted local files, outbox mail), listening on a
 * free loopback port. `env` overrides any variable; `dataDir` shares a data directory (and so
 * signing keys) between processes of one split deployment.
 */
export async function startTestServer(
  env: Record<string, string> = {},
  options: { dataDir?: string; database?: Database; cacheHub?: MemoryCacheHub } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'parley-test-')));
  const config = loadConfig({
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    HOST: '127.0.0.1',
    PORT: '0',
    PASSWORD_SCRYPT_N: '1024',
    ...env,
  });
  const roles = config.server.roles;
  const needsDb = roles.some((r) => r !== 'gateway');
  const database =
    options.database ?? (needsDb && config.database.kind === 'pglite' ? await createTestDatabase() : undefined);
  const server = await startServer(config, { database, cacheHub: options.cacheHub });
  const outboxDir = config.mail.kind === 'outbox' ? config.mail.dir : path.join(dataDir, 'outbox');
  return {
    ...server,
    config,
    dataDir,
    api: new ApiClient(server.url),
    outbox: () => outboxTexts(outboxDir),
    async close() {
      await server.stop();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
