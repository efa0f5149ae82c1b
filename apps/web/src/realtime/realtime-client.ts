import { ZWsServerMessage, encodeBinaryFrame, type TWsClientMessage, type TWsServerMessage } from '@parley/contracts';
import { DEFAULT_BACKOFF, backoffDelay, type BackoffOptions } from './backoff.ts';

/** What the client needs from a socket; the browser adapter is `browserSocketFactory`. */
export interface SocketLike {
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  readonly bufferedAmount: number;
}
export interface SocketHandlers {
  open(): void;
  message(data: unknown): void;
  close(code: number, reason: string): void;
}
export type SocketFactory = (url: string, handlers: SocketHandlers) => SocketLike;

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export type RealtimeState =
  /** Not started, or stopped by `stop()`. */
  | 'idle'
  | 'connecting'
  | 'authenticating'
  | 'ready'
  /** Lost; a reconnect is scheduled. */
  | 'reconnecting'
  /** Gave up: the sign-in is not accepted any more. */
  | 'failed';

export interface FrameStats {
  /** Captured but not yet sent (held while disconnected). */
  queued: number;
  /** Sent, waiting for an ack. */
  unacked: number;
  sent: number;
  acked: number;
  /** Refused by the server (rate limit, overload, error) or pushed out of a full queue. */
  dropped: number;
  lastAckedSeq: number;
}

export interface RealtimeOptions {
  url: string;
  socketFactory: SocketFactory;
  /** An access token; `force` asks for a refreshed one after the server refused the last. */
  getToken: (opts: { force: boolean }) => Promise<string>;
  /** True when a `getToken` failure means signed out for good (no point retrying). */
  isFatalAuthError?: (error: unknown) => boolean;
  timers?: Timers;
  now?: () => number;
  random?: () => number;
  backoff?: Partial<BackoffOptions>;
  /** An application ping is sent this often while ready. */
  heartbeatMs?: number;
  /** No message at all for this long means the connection is dead: reconnect. */
  idleTimeoutMs?: number;
  /** Frames kept while disconnected; older ones are dropped first. */
  maxQueuedFrames?: number;
  /** Sent frames kept for re-sending until acked. */
  maxUnackedFrames?: number;
}

/** WebSocket close codes after which reconnecting with the same sign-in cannot help. */
const AUTH_CLOSE_CODES = new Set([4401]);
const FATAL_CLOSE_CODES = new Set([4403]);

interface PendingFrame {
  seq: number | null;
  capturedAt: number;
  jpeg: Uint8Array;
}

interface FrameStream {
  sessionId: string;
  nextSeq: number;
  highestAcked: number;
  /** The server has said which frames it holds since the last (re)connect. */
  resumed: boolean;
  queue: PendingFrame[];
  unacked: Map<number, PendingFrame>;
}

type Listener<T> = (value: T) => void;

/**
 * The one owner of the WebSocket: connects, authenticates, keeps subscriptions, streams frames
 * with sequence numbers, reconnects with backoff and, after a reconnect, resumes the frame
 * stream so that only frames the server does not hold are sent again. The UI talks to this
 * class and listens to its events; it never sees the socket.
 */
export class RealtimeClient {
  private state: RealtimeState = 'idle';
  private socket: SocketLike | null = null;
  /** Bumped for every socket, so late events from an abandoned one are ignored. */
  private generation = 0;
  private attempt = 0;
  private authFailures = 0;
  private reconnectTimer: unknown = null;
  private heartbeatTimer: unknown = null;
  private pumpTimer: unknown = null;
  private lastMessageAt = 0;
  private lastFrameSentAt = Number.NEGATIVE_INFINITY;
  private framesPerSec = 5;
  private readonly subscriptions = new Set<string>();
  private stream: FrameStream | null = null;
  private readonly stats = { sent: 0, acked: 0, dropped: 0 };
  private readonly stateListeners = new Set<Listener<RealtimeState>>();
  private readonly messageListeners = new Set<Listener<TWsServerMessage>>();
  private readonly timers: Timers;
  private readonly now: () => number;
  private readonly backoff: BackoffOptions;

  constructor(private readonly options: RealtimeOptions) {
    this.timers = options.timers ?? {
      setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
      clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
    };
    this.now = options.now ?? Date.now;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  }

  // ------------------------------------------------------------------------------------------
  // Lifecycle

  get currentState(): RealtimeState {
    return this.state;
  }

  /** The server's frame rate limit, known once ready. */
  get maxFramesPerSec(): number {
    return this.framesPerSec;
  }

  start(): void {
    if (this.state !== 'idle' && this.state !== 'failed') return;
    this.attempt = 0;
    this.authFailures = 0;
    this.connect();
  }

  /** Closes the socket for good; subscriptions and the frame stream are forgotten. */
  stop(): void {
    this.clearTimers();
    this.generation++;
    this.socket?.close(1000, 'client stopped');
    this.socket = null;
    this.subscriptions.clear();
    this.stream = null;
    this.setState('idle');
  }

  /** Skips the rest of a backoff wait (e.g. when the browser says it is online again). */
  reconnectNow(): void {
    if (this.state !== 'reconnecting') return;
    this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.connect();
  }

  onState(listener: Listener<RealtimeState>): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  onMessage(listener: Listener<TWsServerMessage>): () => void {
    this.messageListeners.add(listener);
    return () => this.messageListeners.delete(listener);
  }

  // ------------------------------------------------------------------------------------------
  // Live view

  subscribe(sessionId: string): void {
    this.subscriptions.add(sessionId);
    if (this.state === 'ready') this.send({ type: 'subscribe', sessionId });
  }

  unsubscribe(sessionId: string): void {
    if (!this.subscriptions.delete(sessionId)) return;
    if (this.state === 'ready') this.send({ type: 'unsubscribe', sessionId });
  }

  // ------------------------------------------------------------------------------------------
  // Frames

  /** Begins (or continues) the candidate's frame stream for a session. */
  startFrames(sessionId: string): void {
    if (this.stream?.sessionId === sessionId) return;
    this.stream = {
      sessionId,
      nextSeq: 0,
      highestAcked: -1,
      resumed: false,
      queue: [],
      unacked: new Map(),
    };
    if (this.state === 'ready') this.sendResume();
  }

  stopFrames(): void {
    this.stream = null;
    this.timers.clearTimeout(this.pumpTimer);
    this.pumpTimer = null;
  }

  /** Queues one JPEG; it is numbered and sent as soon as the connection and the rate allow. */
  sendFrame(jpeg: Uint8Array, capturedAt: number = this.now()): void {
    const stream = this.stream;
    if (!stream) return;
    stream.queue.push({ seq: null, capturedAt, jpeg });
    const max = this.options.maxQueuedFrames ?? 100;
    while (stream.queue.length > max) {
      stream.queue.shift();
      this.stats.dropped++;
    }
    this.pump();
  }

  frameStats(): FrameStats {
    return {
      queued: this.stream?.queue.length ?? 0,
      unacked: this.stream?.unacked.size ?? 0,
      sent: this.stats.sent,
      acked: this.stats.acked,
      dropped: this.stats.dropped,
      lastAckedSeq: this.stream?.highestAcked ?? -1,
    };
  }

  // ------------------------------------------------------------------------------------------
  // Internals

  private connect(): void {
    this.clearTimers();
    const generation = ++this.generation;
    this.setState('connecting');
    const current = () => generation === this.generation;
    this.socket = this.options.socketFactory(this.options.url, {
      open: () => {
        if (current()) void this.authenticate(generation);
      },
      message: (data) => {
        if (current()) this.receive(data);
      },
      close: (code) => {
        if (current()) this.lost(code);
      },
    });
  }

  private async authenticate(generation: number): Promise<void> {
    this.setState('authenticating');
    this.lastMessageAt = this.now();
    let token: string;
    try {
      token = await this.options.getToken({ force: this.authFailures > 0 });
    } catch (err) {
      if (generation !== this.generation) return;
      if (this.options.isFatalAuthError?.(err)) {
        this.fail();
        return;
      }
      this.dropSocket();
      this.scheduleReconnect();
      return;
    }
    if (generation !== this.generation) return;
    this.send({ type: 'auth', token });
  }

  private receive(data: unknown): void {
    this.lastMessageAt = this.now();
    if (typeof data !== 'string') return;
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return;
    }
    const parsed = ZWsServerMessage.safeParse(json);
    if (!parsed.success) return;
    const message = parsed.data;
    this.handle(message);
    for (const listener of this.messageListeners) listener(message);
  }

  private handle(message: TWsServerMessage): void {
    const stream = this.stream;
    switch (message.type) {
      case 'ready':
        this.attempt = 0;
        this.authFailures = 0;
        this.framesPerSec = Math.max(1, message.limits.framesPerSec);
        this.setState('ready');
        this.scheduleHeartbeat();
        for (const sessionId of this.subscriptions) this.send({ type: 'subscribe', sessionId });
        if (stream) this.sendResume();
        return;
      case 'resumed': {
        if (!stream || stream.sessionId !== message.sessionId) return;
        const held = new Set(message.storedSeqs);
        const resend: PendingFrame[] = [];
        for (const [seq, frame] of [...stream.unacked].sort((a, b) => a[0] - b[0])) {
          stream.unacked.delete(seq);
          // Held by the server: acked in effect. Beyond a truncated list, re-sending is harmless
          // (the server answers a duplicate ack).
          if (held.has(seq) || seq <= message.lastAckedSeq) {
            this.stats.acked++;
            stream.highestAcked = Math.max(stream.highestAcked, seq);
          } else {
            resend.push(frame);
          }
        }
        stream.queue.unshift(...resend);
        if (message.highestStoredSeq !== null) {
          stream.nextSeq = Math.max(stream.nextSeq, message.highestStoredSeq + 1);
          stream.highestAcked = Math.max(stream.highestAcked, message.highestStoredSeq);
        }
        stream.resumed = true;
        this.pump();
        return;
      }
      case 'frame.ack':
        if (stream?.unacked.delete(message.seq)) {
          this.stats.acked++;
          stream.highestAcked = Math.max(stream.highestAcked, message.seq);
        }
        return;
      case 'frame.dropped':
        if (stream?.unacked.delete(message.seq)) this.stats.dropped++;
        return;
      case 'error':
        if (message.seq !== undefined && stream?.unacked.delete(message.seq)) this.stats.dropped++;
        return;
      default:
        return;
    }
  }

  /** Tells the server the last frame known to be stored; its answer decides what is re-sent. */
  private sendResume(): void {
    const stream = this.stream;
    if (!stream) return;
    stream.resumed = false;
    const unacked = [...stream.unacked.keys()];
    // Everything below the oldest unacked frame is known to be stored (or was given up on).
    const lastAckedSeq = unacked.length > 0 ? Math.min(...unacked) - 1 : stream.highestAcked;
    this.send({ type: 'resume', sessionId: stream.sessionId, lastAckedSeq: Math.max(-1, lastAckedSeq) });
  }

  private pump(): void {
    const stream = this.stream;
    if (!stream || this.state !== 'ready' || !stream.resumed || this.pumpTimer !== null) return;
    const socket = this.socket;
    if (!socket) return;
    // A little under the limit: the server counts in a sliding window and timers jitter.
    const interval = (1000 / this.framesPerSec) * 1.05;
    while (stream.queue.length > 0) {
      const wait = this.lastFrameSentAt + interval - this.now();
      if (wait > 0) {
        this.pumpTimer = this.timers.setTimeout(() => {
          this.pumpTimer = null;
          this.pump();
        }, wait);
        return;
      }
      const frame = stream.queue.shift()!;
      frame.seq ??= stream.nextSeq++;
      stream.unacked.set(frame.seq, frame);
      const maxUnacked = this.options.maxUnackedFrames ?? 200;
      if (stream.unacked.size > maxUnacked) {
        const oldest = Math.min(...stream.unacked.keys());
        stream.unacked.delete(oldest);
        this.stats.dropped++;
      }
      socket.send(
        encodeBinaryFrame(
          { seq: frame.seq, capturedAt: Math.round(frame.capturedAt), sessionId: stream.sessionId },
          frame.jpeg,
        ),
      );
      this.stats.sent++;
      this.lastFrameSentAt = this.now();
    }
  }

  private send(message: TWsClientMessage): void {
    this.socket?.send(JSON.stringify(message));
  }

  private lost(code: number): void {
    this.socket = null;
    this.clearTimers();
    if (FATAL_CLOSE_CODES.has(code)) {
      this.fail();
      return;
    }
    if (AUTH_CLOSE_CODES.has(code)) {
      this.authFailures++;
      // One retry with a refreshed token; a second refusal means the sign-in is gone.
      if (this.authFailures >= 2) {
        this.fail();
        return;
      }
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stream) this.stream.resumed = false;
    const delay = backoffDelay(this.attempt, this.backoff, this.options.random);
    this.attempt++;
    this.setState('reconnecting');
    this.reconnectTimer = this.timers.setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  private scheduleHeartbeat(): void {
    const every = this.options.heartbeatMs ?? 20_000;
    const idle = this.options.idleTimeoutMs ?? 45_000;
    this.heartbeatTimer = this.timers.setTimeout(() => {
      this.heartbeatTimer = null;
      if (this.state !== 'ready') return;
      if (this.now() - this.lastMessageAt > idle) {
        this.dropSocket();
        this.scheduleReconnect();
        return;
      }
      this.send({ type: 'ping' });
      this.scheduleHeartbeat();
    }, every);
  }

  /** Abandons the current socket without waiting for its close event. */
  private dropSocket(): void {
    this.generation++;
    this.socket?.close(4000, 'reconnecting');
    this.socket = null;
    this.clearTimers();
  }

  private fail(): void {
    this.dropSocket();
    this.setState('failed');
  }

  private clearTimers(): void {
    for (const timer of [this.reconnectTimer, this.heartbeatTimer, this.pumpTimer]) {
      if (timer !== null) this.timers.clearTimeout(timer);
    }
    this.reconnectTimer = this.heartbeatTimer = this.pumpTimer = null;
  }

  private setState(state: RealtimeState): void {
    if (this.state === state) return;
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }
}

/** The browser's WebSocket behind the `SocketLike` seam. */
export const browserSocketFactory: SocketFactory = (url, handlers) => {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => handlers.open();
  ws.onmessage = (event: MessageEvent) => handlers.message(event.data);
  ws.onclose = (event) => handlers.close(event.code, event.reason);
  return {
    send: (data) => ws.send(data),
    close: (code, reason) => ws.close(code, reason),
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
  };
};

/** `ws://host/ws` or `wss://host/ws` for the page's origin. */
export function realtimeUrl(location: { protocol: string; host: string }): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}
