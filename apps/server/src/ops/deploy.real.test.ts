import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const DEPLOY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../deploy');
const run = promisify(execFile);
const COMPOSE_ENV = {
  POSTGRES_PASSWORD: 'x',
  RABBITMQ_PASSWORD: 'x',
  S3_SECRET_ACCESS_KEY: 'x',
  STORAGE_MASTER_KEY: '0'.repeat(64),
  JWT_KEYS: 'k1:AAAA',
  JWT_ACTIVE_KID: 'k1',
  SECRETS_KEY: '0'.repeat(64),
  GRAFANA_ADMIN_PASSWORD: 'x',
};

// Debian's docker-compose (installed by scripts/services/transcriber-deps.sh) reads and checks
// the file without a Docker engine.
describe('deploy/compose.yaml with docker-compose', () => {
  it('passes `docker-compose config` (Debian docker-compose 1.29, no engine needed)', async () => {
    await run('docker-compose', ['-f', path.join(DEPLOY, 'compose.yaml'), 'config', '-q'], {
      env: { ...process.env, ...COMPOSE_ENV },
    });
    // Without the required secrets it refuses to start, naming the variable.
    await expect(
      run('docker-compose', ['-f', path.join(DEPLOY, 'compose.yaml'), 'config', '-q'], {
        env: { PATH: process.env.PATH },
      }),
    ).rejects.toThrow(/is required/);
  });
});
