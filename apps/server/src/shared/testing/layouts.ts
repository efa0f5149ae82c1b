import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Broker } from '../../infra/broker/broker.ts';
import type { Database } from '../../infra/db/database.ts';
import { createTestDatabase } from '../../infra/db/testing.ts';
import { MemoryCacheHub } from '../../infra/cache/memory-cache.ts';
import type { ApiClient } from './test-server.ts';
import { startTestServer, type TestServer } from './test-server.ts';

/** A running deployment as API tests see it: one entry point, an outbox, a way to stop. */
export interface Deployment {
  api: ApiClient;
  outbox(): Promise<string[]>;
  close(): Promise<void>;
  /** The test process's own handles on the deployment's database and broker, when not in-process. */
  database?: Database;
  broker?: Broker;
  /** Options for WebSocket clients (a CA for a TLS entry point). */
  wsOptions?: { ca?: string; servername?: string };
  /** Processes behind the entry point, by role, so tests can stop one. */
  processes: { role: string; server: TestServer }[];
}

export type Layout = (env?: Record<string, string>) => Promise<Deployment>;

/** Every role in one process: the embedded default. */
export const oneProcess: Layout = async (env = {}) => {
  const server = await startTestServer(env);
  return {
    api: server.api,
    outbox: () => server.outbox(),
    close: () => server.close(),
    processes: [{ role: 'all', server }],
  };
};

/**
 * A split deployment in this test process: two interview instances (each with its workers) on one database (as two
 * processes on one PostgreSQL would be) behind a gateway that forwards `/api` to them with health
 * checks and failover. Every process shares one data directory, and so the signing keys.
 */
export const splitProcesses: Layout = async (env = {}) => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'parley-split-'));
  const database = await createTestDatabase();
  // Both instances share the database; it is closed once, after both have stopped.
  const shared: Database = {
    kind: database.kind,
    db: database.db,
    primary: database.primary,
    migrate: () => database.migrate(),
    ping: () => database.ping(),
    poolStats: () => database.poolStats(),
    traceQueries: (hook) => database.traceQueries(hook),
    close: async () => {},
  };
  // One shared cache, as Redis is for a real split deployment.
  const cacheHub = new MemoryCacheHub();
  const started: TestServer[] = [];
  try {
    // Each in-process broker is the process's own, so each instance runs the workers that send the
    // e-mail it requests (into the shared data directory's outbox), as an embedded install does.
    for (let i = 0; i < 2; i++) {
      started.push(
        await startTestServer({ ...env, ROLES: 'interview,worker' }, { dataDir, database: shared, cacheHub }),
      );
    }
    const upstreams = `interview=${started.map((s) => s.url).join('|')}`;
    const gateway = await startTestServer({ ...env, ROLES: 'gateway', UPSTREAMS: upstreams }, { dataDir, cacheHub });
    const interviewOutbox = started[0]!;
    return {
      api: gateway.api,
      outbox: () => interviewOutbox.outbox(),
      processes: [{ role: 'gateway', server: gateway }, ...started.map((server) => ({ role: 'interview', server }))],
      async close() {
        await gateway.close();
        for (const s of started) await s.close();
        await database.close();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    for (const s of started) await s.close();
    await database.close();
    throw error;
  }
};
