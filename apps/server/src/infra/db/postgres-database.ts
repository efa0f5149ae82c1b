import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { withReplicas } from 'drizzle-orm/pg-core';
import pg from 'pg';
import type { Database, Db, PoolStats, QueryHook } from './database.ts';
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

/** Where the pools' clients find the current statement hook (set after the pools exist). */
interface HookSlot {
  hook?: QueryHook;
}

/**
 * A `pg` client class whose `query` goes through the slot's hook. It is the pools' client class,
 * so every connection (those already open included) is covered. `pg` queues a statement when
 * `query` is called; the hook calls it at once, so statements keep their order on a connection.
 * Cursors and other submittables pass through untraced.
 */
function hookedClient(slot: HookSlot): typeof pg.Client {
  return class HookedClient extends pg.Client {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- pg's query has a dozen overloads; this forwards them all
    override query(...input: any[]): any {
      const args = input as unknown[];
      const send = (...a: unknown[]): unknown =>
        (pg.Client.prototype.query as (...b: unknown[]) => unknown).apply(this, a);
      const hook = slot.hook;
      const first = args[0] as { text?: unknown; submit?: unknown } | string | undefined;
      if (!hook || (typeof first === 'object' && typeof first?.submit === 'function')) return send(...args);
      const text = typeof first === 'string' ? first : typeof first?.text === 'string' ? first.text : '';
      const last = args[args.length - 1];
      if (typeof last !== 'function') return hook(text, () => send(...args) as Promise<unknown>);
      // Callback style (pg.Pool#query uses it): same statement, the callback gets the outcome.
      const callback = last as (err: Error | null, result?: unknown) => void;
      const head = args.slice(0, -1);
      hook(
        text,
        () =>
          new Promise<unknown>((resolve, reject) => {
            send(...head, (err: Error | null, result: unknown) => (err ? reject(err) : resolve(result)));
          }),
      ).then(
        (result) => callback(null, result),
        (err: Error) => callback(err),
      );
      return undefined;
    }
  };
}

/** PostgreSQL through `pg` pools, with selects routed to a read replica when one is configured. */
export class PostgresDatabase implements Database {
  readonly kind = 'postgres' as const;
  readonly db: Db;
  readonly primary: Db;
  private readonly primaryPool: pg.Pool;
  private readonly replicaPool?: pg.Pool;
  private readonly migrationsFolder: string;
  private readonly hooks: HookSlot = {};
  private closed = false;

  constructor(options: PostgresDatabaseOptions) {
    this.migrationsFolder = options.migrationsFolder ?? MIGRATIONS_FOLDER;
    const onError = options.onError ?? (() => undefined);
    const Client = hookedClient(this.hooks);
    this.primaryPool = new pg.Pool({
      connectionString: options.url,
      max: options.poolMax,
      application_name: 'parley',
      Client,
    });
    this.primaryPool.on('error', (err) => onError(err, 'primary'));
    const primary = drizzle({ client: this.primaryPool, schema });
    this.primary = primary;
    if (options.replicaUrl) {
      this.replicaPool = new pg.Pool({
        connectionString: options.replicaUrl,
        max: options.poolMax,
        application_name: 'parley-replica',
        Client,
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

  traceQueries(hook: QueryHook): void {
    this.hooks.hook = hook;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.primaryPool.end(), this.replicaPool?.end()]);
  }
}
