import type { Assume } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type * as schema from './schema.ts';

/**
 * What `db.execute()` returns on both drivers: `pg`'s QueryResult and PGlite's Results share
 * `rows`, so raw SQL results are typed (drizzle's generic HKT would make them `unknown`).
 */
export interface RowsQueryResultHKT extends PgQueryResultHKT {
  type: RowsResult<Assume<this['row'], Record<string, unknown>>>;
}

export interface RowsResult<T> {
  rows: T[];
}

/** Drizzle handle over our schema, the same type on PGlite and PostgreSQL. */
export type Db = PgDatabase<RowsQueryResultHKT, typeof schema>;

/** Connections of one pool, for the `/metrics` DB-pool gauges. */
export interface PoolStats {
  /** `primary` or `replica`. */
  readonly pool: 'primary' | 'replica';
  /** Connections open (idle + in use). */
  readonly total: number;
  readonly idle: number;
  /** Queries waiting for a free connection. */
  readonly waiting: number;
  readonly max: number;
}

/**
 * Wraps each SQL statement a driver sends (`run` sends it and settles with the driver's result):
 * statement spans for tracing. `text` is the statement as sent, with `$n` placeholders: values
 * travel separately and never reach the hook.
 */
export type QueryHook = <T>(text: string, run: () => Promise<T>) => Promise<T>;

/**
 * The relational database. Implementations: PGlite (embedded default, data under `./data/pg`)
 * and PostgreSQL via `pg` with an optional read replica. Both pass `database.contract.ts`.
 */
export interface Database {
  readonly kind: 'pglite' | 'postgres';
  /** Selects go to the replica when one is configured; writes and transactions go to the primary. */
  readonly db: Db;
  /** Always the primary: use it to read what this request has just written (read-your-writes). */
  readonly primary: Db;
  /** Applies pending forward-only migrations; safe to call from several processes at once. */
  migrate(): Promise<void>;
  ping(): Promise<void>;
  /** Occupancy of each connection pool; empty for PGlite, which has no pool. */
  poolStats(): PoolStats[];
  /** Sends every later statement, on every connection, through `hook` (replacing an earlier one). */
  traceQueries(hook: QueryHook): void;
  close(): Promise<void>;
}
