import type { Config } from '../../config.ts';
import type { Database } from './database.ts';
import { PgliteDatabase } from './pglite-database.ts';
import { PostgresDatabase } from './postgres-database.ts';

export type { Database, Db, PoolStats } from './database.ts';
export { databaseError, isUniqueViolation, SQLSTATE, type DatabaseErrorInfo } from './database-errors.ts';
export * as schema from './schema.ts';

export interface CreateDatabaseOptions {
  /** Errors of idle pooled PostgreSQL connections (e.g. a server restart); pass the logger here. */
  onError?: (err: Error, pool: 'primary' | 'replica') => void;
}

/**
 * Opens the database `config.database` selects: PostgreSQL (+ replica), checked with a ping so a
 * wrong URL stops boot, or the embedded PGlite. Does not migrate: call `migrate()`.
 */
export async function createDatabase(
  config: Pick<Config, 'database'>,
  options: CreateDatabaseOptions = {},
): Promise<Database> {
  const c = config.database;
  if (c.kind === 'postgres') {
    const database = new PostgresDatabase({
      url: c.url,
      replicaUrl: c.replicaUrl,
      poolMax: c.poolMax,
      onError: options.onError,
    });
    try {
      await database.ping();
    } catch (err) {
      await database.close();
      throw err;
    }
    return database;
  }
  return PgliteDatabase.open({ dataDir: c.dataDir });
}
