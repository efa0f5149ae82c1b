import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type * as schema from './schema.ts';

/** Drizzle handle over our schema, the same type on PGlite and PostgreSQL. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

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
  close(): Promise<void>;
}
