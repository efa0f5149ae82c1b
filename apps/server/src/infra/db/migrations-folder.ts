import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The drizzle-kit output folder; the same files are applied on PGlite and PostgreSQL. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('./migrations', import.meta.url));

/** Digest of every migration file and the journal: changes whenever a migration is added or edited. */
export function migrationsDigest(folder = MIGRATIONS_FOLDER): string {
  const hash = createHash('sha256');
  const files = [
    ...readdirSync(folder).filter((f) => f.endsWith('.sql')),
    ...readdirSync(path.join(folder, 'meta')).map((f) => path.join('meta', f)),
  ].sort();
  for (const file of files) {
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(path.join(folder, file)))
      .update('\0');
  }
  return hash.digest('hex');
}
