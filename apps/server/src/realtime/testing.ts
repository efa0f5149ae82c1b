/**
 * Helpers for the realtime tests and `bench/realtime.bench.ts`: sessions seeded with real inserts,
 * a realtime module on a listening Fastify with embedded adapters, and a `ws` client that
 * collects what the server says.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TFrameHeader, TWsServerMessage } from '@parley/contracts';
import { encodeBinaryFrame } from '@parley/contracts';
import jpeg from 'jpeg-js';
import WebSocket from 'ws';
import type { Config } from '../config.ts';
import type { Broker } from '../infra/broker/broker.ts';
import { MemoryBroker, MemoryBrokerHub } from '../infra/broker/memory-broker.ts';
import { INTERVIEW_EVENTS_TOPOLOGY } from '../infra/broker/topology.ts';
import type { Cache } from '../infra/cache/cache.ts';
import { MemoryCache, MemoryCacheHub } from '../infra/cache/memory-cache.ts';
import type { Database, Db } from '../infra/db/database.ts';
import {
  consents,
  interviews,
  interviewSessions,
  organizations,
  users,
  type EmotionPolicy,
  type SessionStatus,
} from '../infra/db/schema.ts';
import { createHttpServer, type HttpServer } from '../infra/http/http-server.ts';
import { Metrics } from '../infra/http/metrics.ts';
import { createLogger } from '../infra/log.ts';
import { createLocalStorage, type LocalStorage } from '../infra/storage/local-storage.ts';
import type { Actor, CandidateActor, StaffActor } from '../shared/actor.ts';
import { AppError } from '../shared/app-error.ts';
import { createRealtimeModule, type RealtimeModule, type RealtimeOptions } from './realtime.module.ts';

export interface SeededSession {
  orgId: string;
  sessionId: string;
  candidate: CandidateActor;
  recruiter: StaffActor;
}

/** An organisation with a recruiter, a candidate and one session, as the interviews context leaves it. */
export async function seedSession(
  db: Db,
  opts: {
    orgId?: string;
    status?: SessionStatus;
    consent?: boolean | null;
    orgPolicy?: EmotionPolicy;
    sessionPolicy?: EmotionPolicy;
  } = {},
): Promise<SeededSession> {
  let orgId = opts.orgId;
  if (!orgId) {
    const [org] = await db
      .insert(organizations)
      .values({ name: `Org ${randomUUID().slice(0, 8)}`, settings: { emotionPolicy: opts.orgPolicy ?? 'insights' } })
      .returning();
    orgId = org!.id;
  }
  const [recruiter] = await db
    .insert(users)
    .values({ orgId, email: `r-${randomUUID()}@example.com`, role: 'recruiter' })
    .returning();
  const [candidate] = await db
    .insert(users)
    .values({ orgId, email: `c-${randomUUID()}@example.com`, role: 'candidate' })
    .returning();
  const [interview] = await db.insert(interviews).values({ orgId, title: 'Backend engineer' }).returning();
  const [session] = await db
    .insert(interviewSessions)
    .values({
      orgId,
      interviewId: interview!.id,
      candidateId: candidate!.id,
      status: opts.status ?? 'in_progress',
      settings: opts.sessionPolicy ? { emotionPolicy: opts.sessionPolicy } : {},
    })
    .returning();
  const sessionId = session!.id;
  if (opts.consent !== null) {
    await db
      .insert(consents)
      .values({ orgId, sessionId, kind: 'video_analysis', granted: opts.consent ?? true, textVersion: 'v1' });
  }
  return {
    orgId,
    sessionId,
    candidate: { kind: 'candidate', userId: candidate!.id, orgId, sessionId },
    recruiter: { kind: 'staff', userId: recruiter!.id, orgId, role: 'recruiter' },
  };
}

/**
 * Access tokens for tests: opaque strings mapped to actors, so the realtime tests need no signing
 * keys. It has `AccountsService.authenticate`'s contract: unknown tokens throw TOKEN_INVALID.
 */
export class TokenTable {
  private readonly actors = new Map<string, Actor>();

  issue(actor: Actor): string {
    const token = `t-${randomUUID()}`;
    this.actors.set(token, actor);
    return token;
  }

  revoke(token: string): void {
    this.actors.delete(token);
  }

  readonly authenticate = async (token: string): Promise<Actor> => {
    const actor = this.actors.get(token);
    if (!actor) throw new AppError('TOKEN_INVALID', 'Access token is invalid');
    return actor;
  };
}

/** A small real JPEG (SOI … EOI), different for each `variant`. */
export function makeJpeg(variant = 0, width = 32, height = 24): Uint8Array {
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    data[i * 4] = (i * 7 + variant * 31) & 0xff;
    data[i * 4 + 1] = (i * 3 + variant * 17) & 0xff;
    data[i * 4 + 2] = (variant * 53) & 0xff;
    data[i * 4 + 3] = 0xff;
  }
  return new Uint8Array(jpeg.encode({ data, width, height }, 80).data);
}

export interface RealtimeServer {
  url: string;
  wsUrl: string;
  app: HttpServer;
  module: RealtimeModule;
  metrics: Metrics;
  storage: LocalStorage;
  broker: Broker;
  cache: Cache;
  close(): Promise<void>;
}

/**
 * One realtime "process": a listening Fastify with the realtime module on embedded adapters.
 * Pass hubs to make several such processes share a cache (pub/sub) or a broker.
 */
export async function startRealtimeServer(opts: {
  database: Database;
  authenticate: (token: string) => Promise<Actor>;
  cacheHub?: MemoryCacheHub;
  /** A cache client of this "process" (e.g. Redis); an in-memory one on `cacheHub` otherwise. Closed with the server. */
  cache?: Cache;
  brokerHub?: MemoryBrokerHub;
  /** Wraps the broker the module publishes on (to hold or fail publishes in tests). */
  wrapBroker?: (broker: Broker) => Broker;
  rateLimit?: Partial<Config['rateLimit']>;
  options?: Partial<RealtimeOptions>;
  logLevel?: string;
}): Promise<RealtimeServer> {
  const logger = createLogger({ level: opts.logLevel ?? 'silent' });
  const metrics = new Metrics();
  const root = await mkdtemp(path.join(os.tmpdir(), 'parley-realtime-'));
  const storage = await createLocalStorage({ root, masterKey: randomBytes(32) });
  const broker = new MemoryBroker({
    topology: INTERVIEW_EVENTS_TOPOLOGY,
    hub: opts.brokerHub ?? new MemoryBrokerHub(),
  });
  const cache = opts.cache ?? new MemoryCache({ hub: opts.cacheHub ?? new MemoryCacheHub() });
  const app = await createHttpServer({
    logger,
    metrics,
    bodyLimitBytes: 1_048_576,
    corsOrigins: [],
    readiness: async () => ({ status: 'ready', roles: ['realtime'], checks: [] }),
    version: 'test',
  });
  const module = createRealtimeModule({
    config: {
      rateLimit: { userPerMin: 100, ipPerMin: 1000, wsFramesPerSec: 10, wsMaxFrameBytes: 262_144, ...opts.rateLimit },
    },
    database: opts.database,
    storage,
    broker: opts.wrapBroker ? opts.wrapBroker(broker) : broker,
    cache,
    metrics,
    logger,
    authenticate: opts.authenticate,
    options: opts.options,
  });
  await module.register(app);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    wsUrl: `${url.replace(/^http/, 'ws')}/ws`,
    app,
    module,
    metrics,
    storage,
    broker,
    cache,
    async close() {
      await app.close();
      await module.stop();
      await broker.close();
      await cache.close();
      await storage.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** A `ws` client that keeps every server message and lets a test wait for the next one it wants. */
export class TestClient {
  readonly messages: TWsServerMessage[] = [];
  closeCode: number | undefined;
  private readonly waiters: { match: (m: TWsServerMessage) => boolean; resolve: (m: TWsServerMessage) => void }[] = [];
  private readonly closed: Promise<number>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as TWsServerMessage;
      this.messages.push(message);
      for (const waiter of [...this.waiters]) {
        if (waiter.match(message)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(message);
        }
      }
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', (code) => {
        this.closeCode = code;
        resolve(code);
      }),
    );
  }

  /** Opens a socket; `token` goes in `?access_token=` when given. */
  static async connect(wsUrl: string, token?: string): Promise<TestClient> {
    const socket = new WebSocket(token ? `${wsUrl}?access_token=${encodeURIComponent(token)}` : wsUrl);
    const client = new TestClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return client;
  }

  /** Opens a socket and authenticates with a first `auth` message; resolves on `ready`. */
  static async authenticated(wsUrl: string, token: string): Promise<TestClient> {
    const client = await TestClient.connect(wsUrl);
    client.json({ type: 'auth', token });
    await client.next('ready');
    return client;
  }

  json(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  binary(bytes: Uint8Array): void {
    this.socket.send(bytes, { binary: true });
  }

  /** Sends a frame as a binary message (default) or as JSON with base64 data. */
  frame(header: TFrameHeader, jpegBytes: Uint8Array, as: 'binary' | 'base64' = 'binary'): void {
    if (as === 'binary') this.binary(encodeBinaryFrame(header, jpegBytes));
    else this.json({ type: 'frame', ...header, data: Buffer.from(jpegBytes).toString('base64') });
  }

  /**
   * The first message, already received or still to come, of this type matching `where`; each
   * message is handed out once. Fails after `timeoutMs` only so a broken test does not hang.
   */
  next<T extends TWsServerMessage['type']>(
    type: T,
    where: (m: Extract<TWsServerMessage, { type: T }>) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<Extract<TWsServerMessage, { type: T }>> {
    type M = Extract<TWsServerMessage, { type: T }>;
    const match = (m: TWsServerMessage): m is M => m.type === type && where(m as M);
    const index = this.messages.findIndex((m) => match(m) && !this.taken.has(m));
    if (index !== -1) {
      const found = this.messages[index] as M;
      this.taken.add(found);
      return Promise.resolve(found);
    }
    return new Promise<M>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no "${type}" message within ${timeoutMs} ms; got ${JSON.stringify(this.messages)}`));
      }, timeoutMs);
      const waiter = {
        match,
        resolve: (m: TWsServerMessage) => {
          clearTimeout(timer);
          this.taken.add(m);
          resolve(m as M);
        },
      };
      this.waiters.push(waiter);
    });
  }

  private readonly taken = new WeakSet<TWsServerMessage>();

  /** Messages of a type received so far. */
  all<T extends TWsServerMessage['type']>(type: T): Extract<TWsServerMessage, { type: T }>[] {
    return this.messages.filter((m): m is Extract<TWsServerMessage, { type: T }> => m.type === type);
  }

  /** Resolves with the close code once the socket is closed. */
  whenClosed(): Promise<number> {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    this.socket.close();
    await this.closed;
  }

  /** Cuts the TCP connection without a closing handshake, as a crashed tab or a lost network would. */
  kill(): void {
    this.socket.terminate();
  }
}

/** Polls `check` until it returns a value other than undefined/false (for effects with no message). */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
