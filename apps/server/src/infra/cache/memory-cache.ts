import type { Cache } from './cache.ts';
import { AppError } from '../../shared/app-error.ts';

type Entry = { kind: 'string'; value: string; expiresAt?: number } | { kind: 'set'; members: Set<string> };
type Listener = (message: string) => void;

/**
 * The shared state that several `MemoryCache` clients see, as processes see one Redis: keys,
 * counters, sets and pub/sub channels. A cache made without a hub gets a private one.
 */
export class MemoryCacheHub {
  private readonly entries = new Map<string, Entry>();
  private readonly channels = new Map<string, Set<Listener>>();
  private readonly clients = new Set<MemoryCache>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly sweepIntervalMs = 1_000) {}

  attach(client: MemoryCache): void {
    this.clients.add(client);
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.sweep(), this.sweepIntervalMs);
      // The sweep only reclaims memory; it must never keep a process alive.
      this.sweeper.unref();
    }
  }

  detach(client: MemoryCache): void {
    this.clients.delete(client);
    if (this.clients.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  /** Live entry for a key; an expired one is removed on the way (lazy expiry). */
  read(key: string, now = Date.now()): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry?.kind === 'string' && entry.expiresAt !== undefined && entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  write(key: string, entry: Entry): void {
    this.entries.set(key, entry);
  }

  remove(key: string): void {
    this.entries.delete(key);
  }

  listen(channel: string, listener: Listener): void {
    let set = this.channels.get(channel);
    if (!set) this.channels.set(channel, (set = new Set()));
    set.add(listener);
  }

  unlisten(channel: string, listener: Listener): void {
    const set = this.channels.get(channel);
    if (!set) return;
    set.delete(listener);
    if (set.size === 0) this.channels.delete(channel);
  }

  broadcast(channel: string, message: string): void {
    const listeners = this.channels.get(channel);
    if (!listeners) return;
    // Delivered on a later turn, as over a network: a publisher never runs subscribers on its stack.
    for (const listener of [...listeners]) setImmediate(() => listener(message));
  }

  /** Number of keys held, expired ones included until swept (for tests of the sweep). */
  get size(): number {
    return this.entries.size;
  }

  sweep(now = Date.now()): void {
    for (const key of this.entries.keys()) this.read(key, now);
  }
}

export interface MemoryCacheOptions {
  /** Share keys and pub/sub with other clients of the same hub ("processes" of one server). */
  hub?: MemoryCacheHub;
  /** Receives errors thrown by subscriber callbacks. Defaults to `console.error`. */
  onError?: (err: unknown) => void;
}

const wrongType = () => new Error('WRONGTYPE Operation against a key holding the wrong kind of value');

function ttlToMs(ttlSeconds: number): number {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError(`TTL must be a positive number of seconds, got ${ttlSeconds}`);
  }
  return Math.max(1, Math.round(ttlSeconds * 1000));
}

/** In-process cache with the same semantics as the Redis adapter (embedded default). */
export class MemoryCache implements Cache {
  private readonly hub: MemoryCacheHub;
  private readonly onError: (err: unknown) => void;
  private readonly subscriptions = new Set<{ channel: string; listener: Listener }>();
  private closed = false;

  constructor(options: MemoryCacheOptions = {}) {
    this.hub = options.hub ?? new MemoryCacheHub();
    this.onError = options.onError ?? ((err) => console.error('[cache] subscriber failed', err));
    this.hub.attach(this);
  }

  private open(): void {
    if (this.closed) throw new AppError('SERVICE_UNAVAILABLE', 'The cache client is closed');
  }

  async get(key: string): Promise<string | null> {
    this.open();
    const entry = this.hub.read(key);
    if (!entry) return null;
    if (entry.kind !== 'string') throw wrongType();
    return entry.value;
  }

  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    this.open();
    const expiresAt = ttlSeconds === undefined ? undefined : Date.now() + ttlToMs(ttlSeconds);
    this.hub.write(key, { kind: 'string', value, expiresAt });
  }

  async del(...keys: string[]): Promise<void> {
    this.open();
    for (const key of keys) this.hub.remove(key);
  }

  async incr(key: string, windowSeconds: number): Promise<{ count: number; resetMs: number }> {
    this.open();
    const windowMs = ttlToMs(windowSeconds);
    const now = Date.now();
    const entry = this.hub.read(key, now);
    if (!entry) {
      this.hub.write(key, { kind: 'string', value: '1', expiresAt: now + windowMs });
      return { count: 1, resetMs: windowMs };
    }
    if (entry.kind !== 'string') throw wrongType();
    if (!/^-?\d+$/.test(entry.value)) throw new Error('ERR value is not an integer or out of range');
    const count = Number(entry.value) + 1;
    entry.value = String(count);
    // Like the Redis script: a counter that somehow lost its expiry gets one, so it cannot stick forever.
    entry.expiresAt ??= now + windowMs;
    return { count, resetMs: Math.max(1, entry.expiresAt - now) };
  }

  async sadd(key: string, ...members: string[]): Promise<void> {
    this.open();
    if (members.length === 0) return;
    const entry = this.hub.read(key);
    if (entry && entry.kind !== 'set') throw wrongType();
    const set = entry?.members ?? new Set<string>();
    for (const m of members) set.add(m);
    if (!entry) this.hub.write(key, { kind: 'set', members: set });
  }

  async srem(key: string, ...members: string[]): Promise<void> {
    this.open();
    const entry = this.hub.read(key);
    if (!entry) return;
    if (entry.kind !== 'set') throw wrongType();
    for (const m of members) entry.members.delete(m);
    // Redis deletes a set when its last member goes; so do we.
    if (entry.members.size === 0) this.hub.remove(key);
  }

  async smembers(key: string): Promise<string[]> {
    this.open();
    const entry = this.hub.read(key);
    if (!entry) return [];
    if (entry.kind !== 'set') throw wrongType();
    return [...entry.members];
  }

  async publish(channel: string, message: string): Promise<void> {
    this.open();
    this.hub.broadcast(channel, message);
  }

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>> {
    this.open();
    const subscription = {
      channel,
      listener: (message: string) => {
        if (!this.subscriptions.has(subscription)) return;
        try {
          onMessage(message);
        } catch (err) {
          this.onError(err);
        }
      },
    };
    this.subscriptions.add(subscription);
    this.hub.listen(channel, subscription.listener);
    return async () => {
      this.subscriptions.delete(subscription);
      this.hub.unlisten(channel, subscription.listener);
    };
  }

  async ping(): Promise<void> {
    this.open();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.subscriptions) this.hub.unlisten(s.channel, s.listener);
    this.subscriptions.clear();
    this.hub.detach(this);
  }
}
