import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cache } from './cache.ts';
import { createCache } from './index.ts';
import { freePort } from '../../shared/testing/split-deployment.ts';

/**
 * Redis behind Sentinel, as deploy/compose.yaml runs it: a primary, a replica and a sentinel,
 * started here from Debian's redis-server (the sentinel is the same binary with `--sentinel`).
 */
const until = async <T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms (${String(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

/** A plain client to one server; refused connections while the servers start are expected. */
const connect = (port: number) => {
  const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  return client;
};

const role = async (client: Redis) => /role:(\w+)/.exec(await client.info('replication'))?.[1];

describe('Redis cache behind Sentinel', () => {
  let dir: string;
  const processes: ChildProcess[] = [];
  const ports = { a: 0, b: 0, sentinel: 0 };
  const direct: Record<'a' | 'b' | 'sentinel', Redis | undefined> = { a: undefined, b: undefined, sentinel: undefined };
  let cache: Cache | undefined;

  const server = (args: string[]) => {
    const child = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
    processes.push(child);
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'parley-sentinel-'));
    ports.a = await freePort();
    ports.b = await freePort();
    ports.sentinel = await freePort();
    const plain = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    server(['--port', String(ports.a), ...plain]);
    server(['--port', String(ports.b), ...plain, '--replicaof', '127.0.0.1', String(ports.a)]);
    direct.a = connect(ports.a);
    direct.b = connect(ports.b);
    await until('the replica in sync', async () => /master_link_status:up/.test(await direct.b!.info('replication')));
    const conf = path.join(dir, 'sentinel.conf');
    await writeFile(
      conf,
      [
        `port ${ports.sentinel}`,
        'bind 127.0.0.1',
        `sentinel monitor parley 127.0.0.1 ${ports.a} 1`,
        'sentinel down-after-milliseconds parley 1000',
        'sentinel failover-timeout parley 10000',
        '',
      ].join('\n'),
    );
    server([conf, '--sentinel']);
    direct.sentinel = connect(ports.sentinel);
    // Listed is not enough: until the sentinel has its own link to the replica and a fresh INFO from
    // it, a failover is refused with NOGOODSLAVE.
    await until('the sentinel connected to an in-sync replica', async () => {
      const replicas = (await direct.sentinel!.call('SENTINEL', 'REPLICAS', 'parley')) as string[][];
      const fields = replicas.map((flat) => {
        const entry = new Map<string, string>();
        for (let i = 0; i + 1 < flat.length; i += 2) entry.set(flat[i]!, flat[i + 1]!);
        return entry;
      });
      return (
        fields.length === 1 &&
        fields[0]!.get('flags') === 'slave' &&
        fields[0]!.get('master-link-status') === 'ok' &&
        Number(fields[0]!.get('info-refresh')) < 5_000
      );
    });
  }, 60_000);

  afterAll(async () => {
    await cache?.close();
    for (const c of Object.values(direct)) c?.disconnect();
    for (const p of processes) p.kill('SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('finds the primary through the sentinel and follows it through a failover, pub/sub included', async () => {
    // The URL's host is never dialled: the primary's address comes from the sentinel.
    cache = await createCache({
      cache: {
        kind: 'redis',
        url: 'redis://no-such-host.invalid:1/0',
        keyPrefix: 'sentinel-test:',
        sentinel: { sentinels: [{ host: '127.0.0.1', port: ports.sentinel }], master: 'parley' },
      },
    });
    await cache.set('before', 'one');
    expect(await direct.a!.get('sentinel-test:before')).toBe('one');
    const heard: string[] = [];
    await cache.subscribe('news', (m) => heard.push(m));
    await cache.publish('news', 'before failover');
    await until('the message before the failover', async () => heard.includes('before failover'));

    // Refused (NOGOODSLAVE) while the sentinel's view of the replica is stale: asked again then.
    await until(
      'the failover to start',
      async () => (await direct.sentinel!.call('SENTINEL', 'FAILOVER', 'parley')) === 'OK',
    );
    await until('the replica promoted', async () => (await role(direct.b!)) === 'master');
    await until('the old primary demoted', async () => (await role(direct.a!)) === 'slave');

    // Writes now land on the new primary; one that races the switch is retried by the client.
    await until('a write after the failover', async () => {
      await cache!.set('after', 'two');
      return (await direct.b!.get('sentinel-test:after')) === 'two';
    });
    expect(await cache.get('before')).toBe('one');
    const { count } = await cache.incr('counter', 60);
    expect(count).toBe(1);
    expect(await direct.b!.get('sentinel-test:counter')).toBe('1');
    // The subscriber connection moved too.
    await until('a message after the failover', async () => {
      await cache!.publish('news', 'after failover');
      return heard.includes('after failover');
    });
  }, 90_000);
});
