import websocket from '@fastify/websocket';
import type { FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Config } from '../config.ts';
import type { Broker } from '../infra/broker/broker.ts';
import type { Cache } from '../infra/cache/cache.ts';
import type { Database } from '../infra/db/database.ts';
import type { HttpServer } from '../infra/http/http-server.ts';
import type { Metrics } from '../infra/http/metrics.ts';
import type { Logger } from '../infra/log.ts';
import type { Storage } from '../infra/storage/storage.ts';
import type { Actor } from '../shared/actor.ts';
import { AppError } from '../shared/app-error.ts';
import { Connection, type Authenticate, type ConnectionContext, type ConnectionOptions } from './connection.ts';
import { FrameIntake } from './frame-intake.ts';
import { FrameRepository } from './frame.repository.ts';
import { LiveHub } from './live-hub.ts';
import { RealtimeMetrics } from './realtime.metrics.ts';
import { DrizzleSessionDirectory, type SessionDirectory } from './session-directory.ts';

export interface RealtimeOptions extends Omit<ConnectionOptions, 'framesPerSec' | 'maxFrameBytes'> {
  /** Ping period; a socket that has not answered the previous ping is terminated. */
  heartbeatMs: number;
  sessionPollMs: number;
  permissionTtlMs: number;
  maxFrameAgeMs: number;
  maxClockAheadMs: number;
  /** Names this process in the `ws:connections` registry. */
  instanceId: string;
}

export const DEFAULT_REALTIME_OPTIONS: RealtimeOptions = {
  authTimeoutMs: 10_000,
  maxInFlightFrames: 8,
  maxInFlightTotal: 64,
  softBufferBytes: 512 * 1024,
  hardBufferBytes: 4 * 1024 * 1024,
  resumeLimit: 1_000,
  heartbeatMs: 30_000,
  // State changes are pushed (interviews and retention announce them on the cache's pub/sub); the
  // poll only catches an announcement lost while the cache reconnects, so it can be slow: one query
  // per process per period, whatever the number of watched sessions.
  sessionPollMs: 30_000,
  permissionTtlMs: 2_000,
  maxFrameAgeMs: 24 * 3600_000,
  maxClockAheadMs: 5 * 60_000,
  instanceId: randomUUID(),
  now: () => Date.now(),
};

export interface RealtimeDeps {
  config: Pick<Config, 'rateLimit'>;
  database: Database;
  storage: Storage;
  broker: Broker;
  cache: Cache;
  metrics: Metrics;
  logger: Logger;
  /** Verifies an access token (`AccountsService.authenticate` fits); throws a coded error when invalid. */
  authenticate: Authenticate;
  options?: Partial<RealtimeOptions>;
  /** Session lookups; over the database tables unless given. */
  directory?: SessionDirectory;
}

export interface RealtimeModule {
  /** Mounts `GET /ws` and starts listening for live updates; call before the server listens. */
  register(app: HttpServer): Promise<void>;
  /** Closes every socket, stops live updates and waits for frames being stored. */
  stop(): Promise<void>;
}

/** The set in the cache listing every open socket of every realtime process (`instance:connection`). */
export const CONNECTION_REGISTRY_KEY = 'ws:connections';

/**
 * The realtime context: the `/ws` endpoint where candidates stream frames and where staff and
 * candidates follow a session live.
 */
export function createRealtimeModule(deps: RealtimeDeps): RealtimeModule {
  const options: RealtimeOptions = { ...DEFAULT_REALTIME_OPTIONS, ...deps.options };
  const { framesPerSec, maxFrameBytes } = {
    framesPerSec: deps.config.rateLimit.wsFramesPerSec,
    maxFrameBytes: deps.config.rateLimit.wsMaxFrameBytes,
  };
  const logger = deps.logger.child({ context: 'realtime' });
  const metrics = new RealtimeMetrics(deps.metrics.registry);
  const directory = deps.directory ?? new DrizzleSessionDirectory(deps.database);
  const intake = new FrameIntake(directory, new FrameRepository(deps.database), deps.storage, deps.broker, {
    maxFrameBytes,
    permissionTtlMs: options.permissionTtlMs,
    maxFrameAgeMs: options.maxFrameAgeMs,
    maxClockAheadMs: options.maxClockAheadMs,
    now: options.now,
  });
  const hub = new LiveHub(directory, deps.cache, logger, { sessionPollMs: options.sessionPollMs, now: options.now });
  const connections = new Set<Connection>();
  const work = new Map<string, Set<Promise<unknown>>>();
  let inFlight = 0;
  const queryActors = new WeakMap<FastifyRequest, Actor>();
  let heartbeat: NodeJS.Timeout | undefined;
  let started = false;

  const registryMember = (c: Connection) => `${options.instanceId}:${c.id}`;
  const registryFailed = (err: unknown) => logger.warn({ err }, 'connection registry update failed');

  const ctx: ConnectionContext = {
    intake,
    hub,
    metrics,
    logger,
    authenticate: deps.authenticate,
    options: { ...options, framesPerSec, maxFrameBytes },
    track(sessionId, promise) {
      let set = work.get(sessionId);
      if (!set) work.set(sessionId, (set = new Set()));
      inFlight++;
      const entry = promise.finally(() => {
        inFlight--;
        set.delete(entry);
        if (set.size === 0 && work.get(sessionId) === set) work.delete(sessionId);
      });
      set.add(entry);
    },
    pending: (sessionId) => [...(work.get(sessionId) ?? [])],
    inFlightTotal: () => inFlight,
    closed(connection) {
      if (!connections.delete(connection)) return;
      metrics.connections.dec();
      deps.cache.srem(CONNECTION_REGISTRY_KEY, registryMember(connection)).catch(registryFailed);
    },
  };

  return {
    async register(app) {
      if (!app.hasDecorator('websocketServer')) {
        // Room for a base64 frame of the largest size plus its JSON; bigger messages close the socket (1009).
        await app.register(websocket, { options: { maxPayload: Math.ceil((maxFrameBytes * 4) / 3) + 16 * 1024 } });
      }
      app.get(
        '/ws',
        {
          websocket: true,
          schema: { hide: true },
          // A token in the URL (browsers cannot set headers on an upgrade) is checked before upgrading.
          preValidation: async (request) => {
            const token = upgradeToken(request);
            if (token !== undefined) queryActors.set(request, await deps.authenticate(token, request.ip));
          },
          // A refused upgrade is answered on the raw socket, which the HTTP server no longer
          // watches: nothing would close its side when the client hangs up, and the half-open
          // socket would keep the server from closing. End it once the refusal is sent.
          onResponse: (request, reply, done) => {
            if (reply.statusCode >= 400 && !request.raw.socket.destroyed) request.raw.socket.end();
            done();
          },
        },
        (socket, request) => {
          const connection = new Connection(socket, ctx, request.ip, queryActors.get(request));
          connections.add(connection);
          metrics.connections.inc();
          deps.cache.sadd(CONNECTION_REGISTRY_KEY, registryMember(connection)).catch(registryFailed);
          if (socket.readyState !== socket.OPEN) ctx.closed(connection);
        },
      );
      await hub.start();
      started = true;
      heartbeat = setInterval(() => {
        for (const connection of connections) connection.heartbeat();
      }, options.heartbeatMs);
      heartbeat.unref();
    },

    async stop() {
      clearInterval(heartbeat);
      for (const connection of [...connections]) {
        connection.close(1001, 'server shutting down');
        ctx.closed(connection);
      }
      // Frames already taken finish storing and announcing before the broker goes away.
      await Promise.allSettled([...work.values()].flatMap((set) => [...set]));
      if (started) await hub.stop();
      started = false;
    },
  };
}

function upgradeToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new AppError('TOKEN_INVALID', 'Authorization header must be "Bearer <token>"');
    return match[1];
  }
  const query = request.url.indexOf('?');
  if (query === -1) return undefined;
  const token = new URLSearchParams(request.url.slice(query + 1)).get('access_token');
  if (token !== null && (token.length === 0 || token.length > 4096)) {
    throw new AppError('TOKEN_INVALID', 'access_token must be a token');
  }
  return token ?? undefined;
}
