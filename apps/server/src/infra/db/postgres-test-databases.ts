/**
 * Throw-away PostgreSQL databases for the real test tier: each test run creates uniquely named
 * databases on the server and drops them afterwards, so runs (and engineers) never collide.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Creates an empty database on the server of `adminUrl`; `drop()` removes it, closing anything still connected. */
export async function createScratchDatabase(
  adminUrl: string,
  label = 'test',
): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `parley_${label}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withAdmin(adminUrl, (c) => c.query(`create database "${name}"`));
  return {
    name,
    url: databaseUrl(adminUrl, name),
    drop: () =>
      withAdmin(adminUrl, (c) => c.query(`drop database if exists "${name}" with (force)`)).then(() => undefined),
  };
}

/** The same server and credentials as `url`, another database. */
export function databaseUrl(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function withAdmin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
