import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { withReplicas } from 'drizzle-orm/pg-core';
import pg from 'pg';
import type { Database, Db, PoolStats } from './database.ts';
import { MIGRATIONS_FOLDER } from './migrations-folder.ts';
import * as schema from './schema.ts';

export interface PostgresDatabaseOptions {
  url: string;
  /** A streaming replica; selects through `db` are sent there. */
  replicaUrl?: string;
  /** Connections per pool (the replica gets its own pool of the same size). */
  poolMax: number;
  migrationsFolder?: string;
  /** Errors of idle pooled connections (server restart, network loss); the next query fails too. */
  onError?: (err: Error, pool: 'primary' | 'replica') => void;
}

/** Key of the session-level advisory lock that serialises migrations across processes ("Parley" in ASCII). */
export const MIGRATION_LOCK_KEY = 0x5061726c6579;

/** PostgreSQL through `pg` pools, with selects routed to a read replica when one is configured. */
export class PostgresDatabase implements Database {
  readonly kind = 'postgres' as const;
  readonly db: Db;
  readonly primary: Db;
  private readonly primaryPool: pg.Pool;
  private readonly replicaPool?: pg.Pool;
  private readonly migrationsFolder: string;
  private closed = false;

  constructor(options: PostgresDatabaseOptions) {
    this.migrationsFolder = options.migrationsFolder ?? MIGRATIONS_FOLDER;
    const onError = options.onError ?? (() => undefined);
    this.primaryPool = new pg.Pool({ connectionString: options.url, max: options.poolMax, application_name: 'parley' });
    this.primaryPool.on('error', (err) => onError(err, 'primary'));
    const primary = drizzle({ client: this.primaryPool, schema });
    this.primary = primary;
    if (options.replicaUrl) {
      this.replicaPool = new pg.Pool({
        connectionString: options.replicaUrl,
        max: options.poolMax,
        application_name: 'parley-replica',
      });
      this.replicaPool.on('error', (err) => onError(err, 'replica'));
      // withReplicas sends select/$count/query.* to the replica; insert/update/delete/execute/transaction to the primary.
      this.db = withReplicas(primary, [drizzle({ client: this.replicaPool, schema })]);
    } else {
      this.db = primary;
    }
  }

  /**
   * Holds `pg_advisory_lock` on one connection while drizzle's migrator runs on that same
   * connection, so processes booting together apply each migration exactly once: the others wait,
   * then find nothing left to do.
   */
  async migrate(): Promise<void> {
    const client = await this.primaryPool.connect();
    let broken: Error | undefined;
    try {
      await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      try {
        await migrate(drizzle({ client }), { migrationsFolder: this.migrationsFolder });
      } finally {
        await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch((err: Error) => {
          broken = err;
        });
      }
    } finally {
      // A connection whose unlock failed may still hold the lock: destroy it rather than pool it.
      client.release(broken);
    }
  }

  async ping(): Promise<void> {
    await this.primary.execute(sql`select 1`);
    if (this.replicaPool) await this.replicaPool.query('select 1');
  }

  poolStats(): PoolStats[] {
    const stats = (pool: pg.Pool, name: PoolStats['pool']): PoolStats => ({
      pool: name,
      total: pool.totalCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
      max: pool.options.max ?? 10,
    });
    return [stats(this.primaryPool, 'primary'), ...(this.replicaPool ? [stats(this.replicaPool, 'replica')] : [])];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.primaryPool.end(), this.replicaPool?.end()]);
  }
}
