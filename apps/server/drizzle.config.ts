import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'drizzle-kit';

// Only `drizzle-kit generate` is used: migrations are reviewed SQL files applied by
// Database.migrate() at boot, identically on PGlite and PostgreSQL. Never `push`.
// Paths are resolved from this file so the command works from the repo root or from apps/server;
// they must be relative to the working directory, because drizzle-kit prefixes `./` to them.
const here = path.relative(process.cwd(), path.dirname(fileURLToPath(import.meta.url))) || '.';

export default defineConfig({
  dialect: 'postgresql',
  schema: path.join(here, 'src/infra/db/schema.ts'),
  out: path.join(here, 'src/infra/db/migrations'),
  strict: true,
  verbose: true,
});
