import { Redis } from 'ioredis';
import type { Cache } from './cache.ts';
import { AppError } from '../../shared/app-error.ts';

export interface RedisCacheOptions {
  url: string;
  /** Prepended to every key and channel, so several deployments (or test runs) can share one Redis. */
  keyPrefix?: string;
  /** Shown in `CLIENT LIST`; the subscriber connection gets `:sub` appended. */
  connectionName?: string;
  /** Reconnection attempts a command waits through before it fails with SERVICE_UNAVAILABLE. */
  maxRetriesPerRequest?: number;
  /** Longest pause between reconnection attempts. */
  maxReconnectDelayMs?: number;
  /** Receives connection errors (once per outage) and errors thrown by subscriber callbacks. */
  onError?: (err: unknown) => void;
  /**
   * Redis behind Sentinel: the primary of `master` is asked of these sentinels (in order), and
   * asked again after a failover; `url` then gives only the database, user, password and TLS.
   */
  sentinel?: { sentinels: { host: string; port: number }[]; master: string };
}

// One round trip, atomic: the expiry is set only when INCR created the key (or, defensively, when a
// key was left without one), so later increments never extend the window.
const INCR_WINDOW_LUA = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

type WithIncrWindow = Redis & { parleyIncrWindow(key: string, windowMs: number): Promise<[number, number]> };

function ttlToMs(ttlSeconds: number): number {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError(`TTL must be a positive number of seconds, got ${ttlSeconds}`);
  }
  return Math.max(1, Math.round(ttlSeconds * 1000));
}

/** Redis-backed cache (`REDIS_URL`): counters shared by every gateway, pub/sub across processes. */
export class RedisCache implements Cache {
  private readonly client: WithIncrWindow;
  private subscriber: Redis | undefined;
  private readonly prefix: string;
  private readonly onError: (err: unknown) => void;
  private readonly listeners = new Map<string, Set<(message: string) => void>>();
  // Subscribe/unsubscribe of one channel run in order, so a quick unsubscribe+subscribe cannot
  // leave the server-side subscription in the wrong state.
  private readonly channelOps = new Map<string, Promise<void>>();
  private closed = false;

  constructor(private readonly options: RedisCacheOptions) {
    this.prefix = options.keyPrefix ?? '';
    this.onError = options.onError ?? ((err) => console.error('[cache]', err));
    const maxDelay = options.maxReconnectDelayMs ?? 2_000;
    const retryStrategy = (times: number) => Math.min(50 * 2 ** times, maxDelay);
    const sentinel = options.sentinel;
    this.client = new Redis(options.url, {
      connectionName: options.connectionName ?? 'parley',
      maxRetriesPerRequest: options.maxRetriesPerRequest ?? 3,
      connectTimeout: 5_000,
      retryStrategy,
      scripts: { parleyIncrWindow: { lua: INCR_WINDOW_LUA, numberOfKeys: 1 } },
      // A primary demoted by a failover answers writes with READONLY until the connection moves:
      // reconnect (asking the sentinels again) and resend the command.
      reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
      ...(sentinel
        ? {
            sentinels: sentinel.sentinels,
            name: sentinel.master,
            sentinelRetryStrategy: retryStrategy,
            // Subscribes to +switch-master on the sentinels, so a failover moves the connection at
            // once instead of when the old primary next fails a command.
            failoverDetector: true,
          }
        : {}),
    }) as WithIncrWindow;
    this.watch(this.client);
  }

  /** Reports a lost connection once, not on every reconnection attempt. */
  private watch(conn: Redis): void {
    let healthy = true;
    conn.on('ready', () => (healthy = true));
    conn.on('error', (err) => {
      if (!healthy || this.closed) return;
      healthy = false;
      this.onError(err);
    });
  }

  private k(key: string): string {
    return this.prefix + key;
  }

  /** Connection trouble becomes SERVICE_UNAVAILABLE; a server's reply error (WRONGTYPE…) stays as is. */
  private async run<T>(what: string, op: () => Promise<T>): Promise<T> {
    if (this.closed) throw new AppError('SERVICE_UNAVAILABLE', 'The cache client is closed');
    try {
      return await op();
    } catch (err) {
      if (err instanceof Error && err.name === 'ReplyError') throw err;
      const reason = err instanceof Error ? err.message : String(err);
      throw new AppError('SERVICE_UNAVAILABLE', `Redis ${what} failed: ${reason}`);
    }
  }

  async get(key: string): Promise<string | null> {
    return this.run('GET', () => this.client.get(this.k(key)));
  }

  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    if (ttlSeconds === undefined) {
      await this.run('SET', () => this.client.set(this.k(key), value));
    } else {
      const ms = ttlToMs(ttlSeconds);
      await this.run('SET', () => this.client.set(this.k(key), value, 'PX', ms));
    }
  }

  async del(...keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.run('DEL', () => this.client.del(...keys.map((key) => this.k(key))));
  }

  async incr(key: string, windowSeconds: number): Promise<{ count: number; resetMs: number }> {
    const windowMs = ttlToMs(windowSeconds);
    const [count, ttl] = await this.run('INCR', () => this.client.parleyIncrWindow(this.k(key), windowMs));
    return { count: Number(count), resetMs: Math.max(1, Number(ttl)) };
  }

  async sadd(key: string, ...members: string[]): Promise<void> {
    if (members.length === 0) return;
    await this.run('SADD', () => this.client.sadd(this.k(key), ...members));
  }

  async srem(key: string, ...members: string[]): Promise<void> {
    if (members.length === 0) return;
    await this.run('SREM', () => this.client.srem(this.k(key), ...members));
  }

  async smembers(key: string): Promise<string[]> {
    return this.run('SMEMBERS', () => this.client.smembers(this.k(key)));
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.run('PUBLISH', () => this.client.publish(this.k(channel), message));
  }

  private subscriberConnection(): Redis {
    if (!this.subscriber) {
      // A connection in subscribe mode cannot run ordinary commands, hence a dedicated one.
      // ioredis re-subscribes its channels by itself after a reconnect.
      const sub = this.client.duplicate({
        connectionName: `${this.options.connectionName ?? 'parley'}:sub`,
      });
      this.watch(sub);
      sub.on('message', (channel: string, message: string) => {
        const listeners = this.listeners.get(channel.slice(this.prefix.length));
        for (const listener of listeners ? [...listeners] : []) {
          try {
            listener(message);
          } catch (err) {
            this.onError(err);
          }
        }
      });
      this.subscriber = sub;
    }
    return this.subscriber;
  }

  private inOrder(channel: string, op: () => Promise<void>): Promise<void> {
    const next = (this.channelOps.get(channel) ?? Promise.resolve()).then(op, op);
    const settled = next.catch(() => {});
    this.channelOps.set(channel, settled);
    void settled.then(() => {
      if (this.channelOps.get(channel) === settled) this.channelOps.delete(channel);
    });
    return next;
  }

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>> {
    const listener = (message: string) => onMessage(message);
    await this.inOrder(channel, async () => {
      let set = this.listeners.get(channel);
      if (!set) this.listeners.set(channel, (set = new Set()));
      set.add(listener);
      if (set.size === 1) {
        const sub = this.subscriberConnection();
        try {
          await this.run('SUBSCRIBE', () => sub.subscribe(this.k(channel)));
        } catch (err) {
          // Nobody else joined while SUBSCRIBE was failing (operations on a channel run in order).
          this.listeners.delete(channel);
          throw err;
        }
      }
    });
    let active = true;
    return async () => {
      if (!active) return;
      active = false;
      await this.inOrder(channel, async () => {
        const set = this.listeners.get(channel);
        if (!set?.delete(listener) || set.size > 0) return;
        this.listeners.delete(channel);
        if (!this.closed && this.subscriber) {
          const sub = this.subscriber;
          await this.run('UNSUBSCRIBE', () => sub.unsubscribe(this.k(channel)));
        }
      });
    };
  }

  async ping(): Promise<void> {
    await this.run('PING', () => this.client.ping());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    await Promise.all([this.client, this.subscriber].flatMap((conn) => (conn ? [quitCleanly(conn)] : [])));
  }
}

/** QUIT lets pending replies arrive; if the server is gone it cannot answer, so disconnect after a bound. */
async function quitCleanly(conn: Redis, timeoutMs = 2_000): Promise<void> {
  if (conn.status === 'end') return;
  if (conn.status !== 'ready') {
    conn.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  try {
    await Promise.race([conn.quit().then(() => undefined), timeout]);
  } catch {
    // The connection broke while quitting: nothing left to close cleanly.
  } finally {
    clearTimeout(timer);
    conn.disconnect();
  }
}
