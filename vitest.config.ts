import { defineConfig } from 'vitest/config';

// Two tiers. `unit` runs on embedded adapters only and needs nothing installed.
// `real` talks to PostgreSQL (primary + replica), Redis, RabbitMQ, an S3 server and an SMTP peer,
// started by scripts/test-all.sh; it fails (never skips) when one is unreachable.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['apps/**/src/**/*.test.ts', 'packages/**/src/**/*.test.ts', 'scripts/**/*.test.ts'],
          exclude: ['**/*.real.test.ts', '**/node_modules/**'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'real',
          include: ['apps/**/src/**/*.real.test.ts', 'packages/**/src/**/*.real.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          pool: 'forks',
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['e2e/**/*.e2e.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          pool: 'forks',
          fileParallelism: false,
        },
      },
    ],
  },
});
