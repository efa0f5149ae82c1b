import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, ENV_VARIABLES, loadConfig } from './config.ts';

describe('config', () => {
  it('defaults to every role on embedded adapters', () => {
    const config = loadConfig({});
    expect(config.server.roles).toEqual(['gateway', 'interview', 'realtime', 'emotion', 'scoring', 'worker']);
    expect(config.database).toEqual({ kind: 'pglite', dataDir: './data/pg' });
    expect(config.cache.kind).toBe('memory');
    expect(config.broker.kind).toBe('memory');
    expect(config.storage.kind).toBe('local');
    expect(config.mail.kind).toBe('outbox');
  });

  it('picks the real adapters when their URLs are set', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://u@h:5432/d',
      DATABASE_REPLICA_URL: 'postgres://u@h:5433/d',
      REDIS_URL: 'redis://h:6379',
      AMQP_URL: 'amqp://h',
      S3_ENDPOINT: 'http://h:9000',
      S3_ACCESS_KEY_ID: 'a',
      S3_SECRET_ACCESS_KEY: 'b',
      SMTP_URL: 'smtp://h:25',
    });
    expect(config.database).toMatchObject({ kind: 'postgres', replicaUrl: 'postgres://u@h:5433/d' });
    expect([config.cache.kind, config.broker.kind, config.storage.kind, config.mail.kind]).toEqual([
      'redis',
      'amqp',
      's3',
      'smtp',
    ]);
  });

  it('runs a subset of roles from ROLES', () => {
    expect(loadConfig({ ROLES: 'gateway, realtime' }).server.roles).toEqual(['gateway', 'realtime']);
  });

  it.each([
    ['PORT', 'eighty'],
    ['ROLES', 'gateway,teleporter'],
    ['DATABASE_URL', 'mysql://h/d'],
    ['LOG_LEVEL', 'loud'],
    ['STORAGE_MASTER_KEY', 'short'],
    ['S3_FORCE_PATH_STYLE', 'maybe'],
    ['REDIS_SENTINELS', 'sentinel-without-port'],
  ])('stops boot on a bad %s and names the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(name));
  });

  it('asks Sentinel for the Redis primary when sentinels are listed', () => {
    const config = loadConfig({
      REDIS_URL: 'redis://:secret@unused/2',
      REDIS_SENTINELS: 's1:26379, s2:26380,[::1]:26381',
      REDIS_SENTINEL_MASTER: 'main',
    });
    expect(config.cache).toMatchObject({
      kind: 'redis',
      url: 'redis://:secret@unused/2',
      sentinel: {
        master: 'main',
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26380 },
          { host: '::1', port: 26381 },
        ],
      },
    });
    expect(loadConfig({ REDIS_URL: 'redis://h:6379' }).cache).not.toHaveProperty('sentinel');
    expect(() => loadConfig({ REDIS_SENTINELS: 's1:26379' })).toThrow(/REDIS_SENTINELS: requires REDIS_URL/);
  });

  it('names the missing S3 credentials', () => {
    expect(() => loadConfig({ S3_ENDPOINT: 'http://h:9000' })).toThrow(/S3_ACCESS_KEY_ID/);
  });

  it('lists every variable in .env.example', () => {
    const example = readFileSync(new URL('../../../.env.example', import.meta.url), 'utf8');
    const missing = ENV_VARIABLES.filter((name) => !new RegExp(`^#? ?${name}=`, 'm').test(example));
    expect(missing).toEqual([]);
  });
});
