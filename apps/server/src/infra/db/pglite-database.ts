import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle, type PgliteDatabase as DrizzlePglite } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import type { Database, Db, PoolStats, QueryHook } from './database.ts';
import { MIGRATIONS_FOLDER } from './migrations-folder.ts';
import * as schema from './schema.ts';

export interface PgliteDatabaseOptions {
  /** Directory holding the data files; omit it for an in-memory database that vanishes on close. */
  dataDir?: string;
  /** A tarball from `snapshot()` to start from instead of running initdb (fast clones for tests). */
  snapshot?: Blob;
  migrationsFolder?: string;
}

/**
 * Postgres compiled to WebAssembly, in this process. One connection only: a transaction holds it
 * until it ends, and other queries wait. A data directory must not be opened by two processes.
 */
export class PgliteDatabase implements Database {
  readonly kind = 'pglite' as const;
  readonly db: Db;
  readonly primary: Db;
  private readonly drizzle: DrizzlePglite<typeof schema>;
  // drizzle's migrator reads the last applied migration before its transaction, so two
  // interleaved runs on the one connection could both apply a file: run them one after another.
  private migrating: Promise<void> = Promise.resolve();

  private constructor(
    private readonly client: PGlite,
    private readonly migrationsFolder: string,
  ) {
    this.drizzle = drizzle({ client, schema });
    this.db = this.drizzle;
    this.primary = this.db;
  }

  static async open(options: PgliteDatabaseOptions = {}): Promise<PgliteDatabase> {
    if (options.dataDir) await mkdir(path.resolve(options.dataDir), { recursive: true });
    const client = await PGlite.create({
      dataDir: options.dataDir ? path.resolve(options.dataDir) : undefined,
      loadDataDir: options.snapshot,
    });
    return new PgliteDatabase(client, options.migrationsFolder ?? MIGRATIONS_FOLDER);
  }

  migrate(): Promise<void> {
    const run = this.migrating.then(() => migrate(this.drizzle, { migrationsFolder: this.migrationsFolder }));
    // A failed run must not poison the next caller's attempt.
    this.migrating = run.catch(() => undefined);
    return run;
  }

  async ping(): Promise<void> {
    await this.client.query('select 1');
  }

  /** No pool: one in-process connection. */
  poolStats(): PoolStats[] {
    return [];
  }

  /**
   * Replaces the client's `query` (what drizzle calls outside a transaction) and hands drizzle's
   * transactions a `Transaction` whose `query` goes through the hook too.
   */
  traceQueries(hook: QueryHook): void {
    const client = this.client;
    const proto = Object.getPrototypeOf(client) as PGlite;
    const query = proto.query.bind(client);
    const transaction = proto.transaction.bind(client);
    client.query = ((text: string, params?: unknown[], options?: object) =>
      hook(text, () => query(text, params, options))) as PGlite['query'];
    client.transaction = <T>(work: (tx: Transaction) => Promise<T>) =>
      transaction((tx) => work(hookedTransaction(tx, hook)));
  }

  /** The whole data directory as an uncompressed tarball, loadable with `{ snapshot }`. */
  async snapshot(): Promise<Blob> {
    await this.db.execute(sql`checkpoint`);
    return this.client.dumpDataDir('none');
  }

  async close(): Promise<void> {
    if (!this.client.closed) await this.client.close();
  }
}

function hookedTransaction(tx: Transaction, hook: QueryHook): Transaction {
  const query: Transaction['query'] = ((text: string, params?: unknown[], options?: object) =>
    hook(text, () => tx.query(text, params, options))) as Transaction['query'];
  return new Proxy(tx, {
    get: (target, property) => {
      if (property === 'query') return query;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
