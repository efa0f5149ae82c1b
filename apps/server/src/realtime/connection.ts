import { randomUUID } from 'node:crypto';
import {
  decodeBinaryFrame,
  ZFrameHeader,
  ZWsClientMessage,
  type TErrorCode,
  type TFrameHeader,
  type TWsClientMessage,
  type TWsServerMessage,
} from '@parley/contracts';
import type { WebSocket, RawData } from 'ws';
import type { Logger } from '../infra/log.ts';
import { inSpan, SpanKind } from '../infra/telemetry.ts';
import type { Actor, CandidateActor, StaffActor } from '../shared/actor.ts';
import { AppError, isAppError } from '../shared/app-error.ts';
import { ERROR_STATUS } from '../shared/error-map.ts';
import type { FrameIntake } from './frame-intake.ts';
import type { LiveHub, Subscriber } from './live-hub.ts';
import { SlidingWindowLimiter } from './rate-window.ts';
import type { RealtimeMetrics } from './realtime.metrics.ts';

export type Authenticate = (token: string, ip?: string) => Promise<Actor>;

export interface ConnectionOptions {
  framesPerSec: number;
  maxFrameBytes: number;
  /** A socket that has not authenticated after this long is closed. */
  authTimeoutMs: number;
  /** Frames of one socket being stored at once; more are dropped as `overloaded`. */
  maxInFlightFrames: number;
  /**
   * Frames of the whole process being stored at once; more are dropped as `overloaded`, so a
   * process past its capacity keeps its latency and sheds load instead of queueing without bound.
   */
  maxInFlightTotal: number;
  /** Above this many unsent bytes, live updates to the socket are skipped. */
  softBufferBytes: number;
  /** Above this many unsent bytes, the socket is closed: a slow reader cannot grow memory. */
  hardBufferBytes: number;
  /** Most stored seqs listed in one `resumed` answer. */
  resumeLimit: number;
  now: () => number;
}

/** What every connection of a module shares. */
export interface ConnectionContext {
  intake: FrameIntake;
  hub: LiveHub;
  metrics: RealtimeMetrics;
  logger: Logger;
  authenticate: Authenticate;
  options: ConnectionOptions;
  /** Tracks frame work so `stop()` and `resume` can wait for it. */
  track(sessionId: string, work: Promise<unknown>): void;
  /** Frame work of a session still running in this process. */
  pending(sessionId: string): Promise<unknown>[];
  /** Frame work running in this process. */
  inFlightTotal(): number;
  closed(connection: Connection): void;
}

const CLOSE_UNAUTHENTICATED = ERROR_STATUS.UNAUTHENTICATED.ws;

/**
 * One WebSocket: authentication, message validation and dispatch, the per-socket frame limits
 * and backpressure. Nothing thrown while handling a message escapes: it becomes an `error`
 * message with a code.
 */
export class Connection implements Subscriber {
  readonly id = randomUUID();
  private authed: StaffActor | CandidateActor | undefined;
  private authenticating: Promise<void> | undefined;
  private authTimer: NodeJS.Timeout | undefined;
  private readonly limiter: SlidingWindowLimiter;
  private readonly subscriptions = new Set<string>();
  private inFlight = 0;
  private droppedTotal = 0;
  /** Set by every pong; the heartbeat terminates a socket that stays silent for a whole period. */
  alive = true;
  private readonly log: Logger;

  constructor(
    private readonly socket: WebSocket,
    private readonly ctx: ConnectionContext,
    private readonly ip: string,
    initialActor: Actor | undefined,
  ) {
    this.limiter = new SlidingWindowLimiter(ctx.options.framesPerSec, 1_000);
    this.log = ctx.logger.child({ connectionId: this.id });
    socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    socket.on('pong', () => {
      this.alive = true;
    });
    socket.on('close', () => this.onClose());
    if (initialActor && initialActor.kind !== 'anonymous') {
      this.becomeReady(initialActor);
    } else {
      this.authTimer = setTimeout(
        () => this.close(CLOSE_UNAUTHENTICATED, 'authentication timeout'),
        ctx.options.authTimeoutMs,
      );
      this.authTimer.unref();
    }
  }

  get actor(): StaffActor | CandidateActor {
    return this.requireActor();
  }

  private requireActor(): StaffActor | CandidateActor {
    if (!this.authed) throw new AppError('UNAUTHENTICATED', 'Authenticate first');
    return this.authed;
  }

  push(message: TWsServerMessage): void {
    this.send(message, { droppable: true });
  }

  send(message: TWsServerMessage, opts: { droppable?: boolean } = {}): void {
    const { socket } = this;
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > this.ctx.options.hardBufferBytes) {
      this.log.warn({ buffered: socket.bufferedAmount }, 'closing a socket whose reader is too slow');
      this.close(ERROR_STATUS.SERVICE_UNAVAILABLE.ws, 'reader too slow');
      return;
    }
    if (opts.droppable && socket.bufferedAmount > this.ctx.options.softBufferBytes) {
      this.ctx.metrics.outboundDropped.inc();
      return;
    }
    socket.send(JSON.stringify(message));
  }

  heartbeat(): void {
    if (!this.alive) {
      this.log.info('no pong within a heartbeat period; terminating');
      this.socket.terminate();
      return;
    }
    this.alive = false;
    this.socket.ping();
  }

  close(code: number, reason: string): void {
    if (this.socket.readyState === this.socket.OPEN || this.socket.readyState === this.socket.CONNECTING) {
      this.socket.close(code, reason);
    }
  }

  private onClose(): void {
    clearTimeout(this.authTimer);
    for (const sessionId of this.subscriptions) this.ctx.hub.unsubscribe(this, sessionId);
    this.subscriptions.clear();
    this.ctx.closed(this);
  }

  private becomeReady(actor: StaffActor | CandidateActor): void {
    clearTimeout(this.authTimer);
    this.authed = actor;
    this.send({
      type: 'ready',
      actor: {
        kind: actor.kind,
        userId: actor.userId,
        orgId: actor.orgId,
        ...(actor.kind === 'candidate' ? { sessionId: actor.sessionId } : {}),
      },
      limits: { framesPerSec: this.ctx.options.framesPerSec, maxFrameBytes: this.ctx.options.maxFrameBytes },
    });
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    const receivedAt = performance.now();
    this.dispatch(data, isBinary, receivedAt).catch((err: unknown) => this.fail(err));
  }

  private async dispatch(data: RawData, isBinary: boolean, receivedAt: number): Promise<void> {
    const bytes = toBuffer(data);
    if (isBinary) {
      await this.authenticating;
      const decoded = decodeBinaryFrame(bytes);
      if (!decoded.ok) {
        this.ctx.metrics.framesReceived.inc();
        this.ctx.metrics.framesDropped.inc({ reason: 'invalid' });
        throw new AppError('VALIDATION_FAILED', decoded.reason);
      }
      const header = ZFrameHeader.safeParse(decoded.header);
      if (!header.success) {
        this.ctx.metrics.framesReceived.inc();
        this.ctx.metrics.framesDropped.inc({ reason: 'invalid' });
        throw new AppError('VALIDATION_FAILED', `Invalid frame header: ${summarise(header.error.issues)}`);
      }
      this.frame(header.data, decoded.jpeg, receivedAt);
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new AppError('MALFORMED_JSON', 'A text message must be a JSON object');
    }
    const parsed = ZWsClientMessage.safeParse(json);
    if (!parsed.success) throw new AppError('VALIDATION_FAILED', summarise(parsed.error.issues));
    const message = parsed.data;
    if (message.type === 'auth') {
      await this.auth(message.token);
      return;
    }
    await this.authenticating;
    await this.handle(message, receivedAt);
  }

  private async handle(message: Exclude<TWsClientMessage, { type: 'auth' }>, receivedAt: number): Promise<void> {
    switch (message.type) {
      case 'ping':
        this.send({ type: 'pong', ...(message.id !== undefined ? { id: message.id } : {}) });
        return;
      case 'frame': {
        const { type: _type, data, ...header } = message;
        this.frame(header, Buffer.from(data, 'base64'), receivedAt);
        return;
      }
      case 'subscribe':
        await this.withSession(message.sessionId, async () => {
          this.subscriptions.add(message.sessionId);
          try {
            await this.ctx.hub.subscribe(this, message.sessionId);
          } catch (err) {
            this.subscriptions.delete(message.sessionId);
            throw err;
          }
        });
        return;
      case 'unsubscribe':
        this.requireActor();
        this.ctx.hub.unsubscribe(this, message.sessionId);
        this.subscriptions.delete(message.sessionId);
        this.send({ type: 'unsubscribed', sessionId: message.sessionId });
        return;
      case 'resume':
        await this.withSession(message.sessionId, async () => {
          const actor = this.candidate('Only the session’s candidate resumes a frame stream');
          // Frames of this session still being stored here are part of the answer.
          await Promise.allSettled(this.ctx.pending(message.sessionId));
          const held = await this.ctx.intake.resume(
            actor,
            message.sessionId,
            message.lastAckedSeq,
            this.ctx.options.resumeLimit,
          );
          this.send({ type: 'resumed', sessionId: message.sessionId, lastAckedSeq: message.lastAckedSeq, ...held });
        });
        return;
    }
  }

  private async auth(token: string): Promise<void> {
    const previous = this.authed;
    const attempt = (async () => {
      let actor: Actor;
      try {
        actor = await this.ctx.authenticate(token, this.ip);
      } catch (err) {
        const code: TErrorCode = isAppError(err) ? err.code : 'TOKEN_INVALID';
        if (!isAppError(err)) this.log.warn({ err }, 'authentication failed unexpectedly');
        this.send({ type: 'error', code, message: isAppError(err) ? err.message : 'The token could not be verified' });
        // A failed refresh leaves an authenticated socket as it was; a failed first auth ends it.
        if (!previous) this.close(ERROR_STATUS[code].ws, 'authentication failed');
        return;
      }
      if (actor.kind === 'anonymous') {
        this.send({ type: 'error', code: 'UNAUTHENTICATED', message: 'The token names nobody' });
        if (!previous) this.close(CLOSE_UNAUTHENTICATED, 'authentication failed');
        return;
      }
      if (previous && (previous.userId !== actor.userId || previous.orgId !== actor.orgId)) {
        // A socket keeps one identity; its subscriptions were authorised for it.
        this.send({ type: 'error', code: 'FORBIDDEN', message: 'A connection cannot change user; open a new one' });
        return;
      }
      this.becomeReady(actor);
    })();
    this.authenticating = attempt;
    await attempt;
  }

  /** Takes a frame off the socket: limits first (cheap), then the intake, then ack or error. */
  private frame(header: TFrameHeader, jpeg: Uint8Array, receivedAt: number): void {
    const { metrics, options } = this.ctx;
    metrics.framesReceived.inc();
    let actor: CandidateActor;
    try {
      actor = this.candidate('Only the session’s candidate sends frames');
    } catch (err) {
      metrics.framesDropped.inc({ reason: 'refused' });
      this.fail(err, { seq: header.seq });
      return;
    }
    if (!this.limiter.tryTake(options.now())) {
      this.droppedTotal++;
      metrics.framesDropped.inc({ reason: 'rate_limited' });
      this.send({
        type: 'frame.dropped',
        seq: header.seq,
        reason: 'rate_limited',
        code: 'RATE_LIMITED',
        droppedTotal: this.droppedTotal,
      });
      return;
    }
    if (jpeg.length > options.maxFrameBytes) {
      metrics.framesDropped.inc({ reason: 'too_large' });
      this.send({
        type: 'error',
        code: 'FRAME_TOO_LARGE',
        message: `A frame may be at most ${options.maxFrameBytes} bytes (this one is ${jpeg.length})`,
        seq: header.seq,
      });
      return;
    }
    if (this.inFlight >= options.maxInFlightFrames || this.ctx.inFlightTotal() >= options.maxInFlightTotal) {
      this.droppedTotal++;
      metrics.framesDropped.inc({ reason: 'overloaded' });
      this.send({
        type: 'frame.dropped',
        seq: header.seq,
        reason: 'overloaded',
        code: 'SERVICE_UNAVAILABLE',
        droppedTotal: this.droppedTotal,
      });
      return;
    }
    this.inFlight++;
    // Each frame starts its own trace (not a child of the long-lived upgrade request): intake →
    // broker → emotion consumer → live push.
    const work = inSpan(
      'ws frame intake',
      {
        kind: SpanKind.SERVER,
        root: true,
        attributes: {
          'parley.session_id': actor.sessionId,
          'parley.frame.seq': header.seq,
          'parley.frame.bytes': jpeg.length,
        },
      },
      () => this.ctx.intake.accept(actor, { ...header, jpeg }),
    )
      .then(
        ({ seq, duplicate }) => {
          metrics.framesAcked.inc({ duplicate: String(duplicate) });
          metrics.ackSeconds.observe((performance.now() - receivedAt) / 1000);
          this.send({ type: 'frame.ack', seq, duplicate });
        },
        (err: unknown) => {
          metrics.framesDropped.inc({
            reason: isAppError(err) && err.code !== 'SERVICE_UNAVAILABLE' ? 'refused' : 'failed',
          });
          this.fail(err, { seq: header.seq });
        },
      )
      .finally(() => {
        this.inFlight--;
      });
    this.ctx.track(actor.sessionId, work);
  }

  private candidate(why: string): CandidateActor {
    const actor = this.actor;
    if (actor.kind !== 'candidate') throw new AppError('FORBIDDEN', why);
    return actor;
  }

  private async withSession(sessionId: string, task: () => Promise<void>): Promise<void> {
    try {
      this.requireActor();
      await task();
    } catch (err) {
      this.fail(err, { sessionId });
    }
  }

  /** Turns anything thrown into an `error` message; unexpected errors are logged and answered INTERNAL. */
  private fail(err: unknown, about: { seq?: number; sessionId?: string } = {}): void {
    if (isAppError(err)) {
      if (err.code === 'SERVICE_UNAVAILABLE') this.log.warn({ err: err.details ?? err }, err.message);
      this.send({ type: 'error', code: err.code, message: err.message, ...about });
      return;
    }
    this.log.error({ err }, 'unexpected error handling a WebSocket message');
    this.send({ type: 'error', code: 'INTERNAL', message: 'Something went wrong; try again', ...about });
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function summarise(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 3)
    .map((i) => `${i.path.map(String).join('.') || 'message'}: ${i.message}`)
    .join('; ');
}
