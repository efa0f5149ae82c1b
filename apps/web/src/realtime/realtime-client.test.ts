import { decodeBinaryFrame, type TWsServerMessage } from '@parley/contracts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RealtimeClient, type SocketHandlers, type SocketLike } from './realtime-client.ts';

const SESSION = '33333333-3333-4333-8333-333333333333';
const USER = '11111111-1111-4111-8111-111111111111';
const ORG = '22222222-2222-4222-8222-222222222222';

class FakeSocket implements SocketLike {
  readonly sent: (string | Uint8Array)[] = [];
  closed: { code?: number; reason?: string } | null = null;
  bufferedAmount = 0;
  constructor(
    readonly url: string,
    private readonly handlers: SocketHandlers,
  ) {}
  send(data: string | Uint8Array): void {
    this.sent.push(data);
  }
  close(code?: number, reason?: string): void {
    this.closed = { code, reason };
  }
  // Server side
  open(): void {
    this.handlers.open();
  }
  push(message: TWsServerMessage): void {
    this.handlers.message(JSON.stringify(message));
  }
  drop(code = 1006): void {
    this.handlers.close(code, '');
  }
  json(): { type: string; [k: string]: unknown }[] {
    return this.sent.filter((d): d is string => typeof d === 'string').map((d) => JSON.parse(d));
  }
  frameSeqs(): number[] {
    return this.sent
      .filter((d): d is Uint8Array => typeof d !== 'string')
      .map((d) => {
        const decoded = decodeBinaryFrame(d);
        if (!decoded.ok) throw new Error(decoded.reason);
        return (decoded.header as { seq: number }).seq;
      });
  }
}

const ready = (framesPerSec = 10): TWsServerMessage => ({
  type: 'ready',
  actor: { kind: 'candidate', userId: USER, orgId: ORG, sessionId: SESSION },
  limits: { framesPerSec, maxFrameBytes: 200_000 },
});

function setup(opts: { tokens?: string[]; fatal?: boolean; failToken?: boolean } = {}) {
  const sockets: FakeSocket[] = [];
  const tokenRequests: boolean[] = [];
  const states: string[] = [];
  const messages: TWsServerMessage[] = [];
  const client = new RealtimeClient({
    url: 'ws://test/ws',
    socketFactory: (url, handlers) => {
      const socket = new FakeSocket(url, handlers);
      sockets.push(socket);
      return socket;
    },
    getToken: async ({ force }) => {
      tokenRequests.push(force);
      if (opts.failToken) throw new Error('signed out');
      return force ? 'fresh-token' : 'token';
    },
    isFatalAuthError: () => opts.fatal ?? false,
    random: () => 1,
    backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 },
    heartbeatMs: 1000,
    idleTimeoutMs: 2500,
  });
  client.onState((s) => states.push(s));
  client.onMessage((m) => messages.push(m));
  const last = () => sockets.at(-1)!;
  /** Opens the newest socket and lets the auth message go out. */
  const openAndReady = async (framesPerSec = 10) => {
    last().open();
    await vi.advanceTimersByTimeAsync(0);
    last().push(ready(framesPerSec));
  };
  return { client, sockets, last, tokenRequests, states, messages, openAndReady };
}

const jpeg = (n: number) => new Uint8Array([0xff, 0xd8, n, 0xff, 0xd9]);

describe('RealtimeClient', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it('authenticates with a message after connecting and becomes ready', async () => {
    const t = setup();
    t.client.start();
    expect(t.sockets).toHaveLength(1);
    expect(t.last().url).toBe('ws://test/ws');
    await t.openAndReady();
    expect(t.last().json()[0]).toEqual({ type: 'auth', token: 'token' });
    expect(t.states).toEqual(['connecting', 'authenticating', 'ready']);
    expect(t.messages.map((m) => m.type)).toEqual(['ready']);
  });

  it('reconnects with growing backoff after losing the connection, and resets it once ready', async () => {
    const t = setup();
    t.client.start();
    t.last().drop();
    expect(t.client.currentState).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(99);
    expect(t.sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(t.sockets).toHaveLength(2);
    t.last().drop();
    await vi.advanceTimersByTimeAsync(199);
    expect(t.sockets).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(t.sockets).toHaveLength(3);
    await t.openAndReady();
    t.last().drop();
    await vi.advanceTimersByTimeAsync(100);
    expect(t.sockets).toHaveLength(4);
  });

  it('caps the backoff', async () => {
    const t = setup();
    t.client.start();
    for (let i = 0; i < 8; i++) {
      t.last().drop();
      await vi.advanceTimersByTimeAsync(1000);
    }
    expect(t.sockets).toHaveLength(9);
  });

  it('ignores events from a socket it already abandoned', async () => {
    const t = setup();
    t.client.start();
    const first = t.last();
    first.drop();
    await vi.advanceTimersByTimeAsync(100);
    first.push(ready());
    first.drop();
    expect(t.client.currentState).toBe('connecting');
    expect(t.sockets).toHaveLength(2);
  });

  it('asks for a refreshed token after an authentication close, and gives up after a second one', async () => {
    const t = setup();
    t.client.start();
    t.last().open();
    await vi.advanceTimersByTimeAsync(0);
    t.last().drop(4401);
    await vi.advanceTimersByTimeAsync(100);
    t.last().open();
    await vi.advanceTimersByTimeAsync(0);
    expect(t.tokenRequests).toEqual([false, true]);
    expect(t.last().json()[0]).toEqual({ type: 'auth', token: 'fresh-token' });
    t.last().drop(4401);
    expect(t.client.currentState).toBe('failed');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(t.sockets).toHaveLength(2);
  });

  it('stops for good when the sign-in is gone', async () => {
    const t = setup({ failToken: true, fatal: true });
    t.client.start();
    t.last().open();
    await vi.advanceTimersByTimeAsync(0);
    expect(t.client.currentState).toBe('failed');
    expect(t.last().closed).not.toBeNull();
  });

  it('retries later when a token cannot be had for a passing reason', async () => {
    const t = setup({ failToken: true, fatal: false });
    t.client.start();
    t.last().open();
    await vi.advanceTimersByTimeAsync(0);
    expect(t.client.currentState).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(100);
    expect(t.sockets).toHaveLength(2);
  });

  it('re-subscribes to live views after a reconnect', async () => {
    const t = setup();
    t.client.subscribe(SESSION);
    t.client.start();
    await t.openAndReady();
    expect(t.last().json()).toContainEqual({ type: 'subscribe', sessionId: SESSION });
    t.last().drop();
    await vi.advanceTimersByTimeAsync(100);
    await t.openAndReady();
    expect(t.last().json()).toContainEqual({ type: 'subscribe', sessionId: SESSION });
    t.client.unsubscribe(SESSION);
    expect(t.last().json()).toContainEqual({ type: 'unsubscribe', sessionId: SESSION });
  });

  it('pings while idle and reconnects when the server goes silent', async () => {
    const t = setup();
    t.client.start();
    await t.openAndReady();
    await vi.advanceTimersByTimeAsync(1000);
    expect(t.last().json()).toContainEqual({ type: 'ping' });
    await vi.advanceTimersByTimeAsync(2000);
    expect(t.last().closed).not.toBeNull();
    expect(t.client.currentState).toBe('reconnecting');
  });

  describe('frames', () => {
    it('waits for the resume answer, then numbers frames after what the server already holds', async () => {
      const t = setup();
      t.client.start();
      t.client.startFrames(SESSION);
      t.client.sendFrame(jpeg(1));
      await t.openAndReady();
      expect(t.last().json().at(-1)).toEqual({ type: 'resume', sessionId: SESSION, lastAckedSeq: -1 });
      expect(t.last().frameSeqs()).toEqual([]);
      // A reload: the server holds frames up to 41 from before it.
      t.last().push({
        type: 'resumed',
        sessionId: SESSION,
        lastAckedSeq: -1,
        storedSeqs: [40, 41],
        truncated: true,
        highestStoredSeq: 41,
      });
      expect(t.last().frameSeqs()).toEqual([42]);
    });

    it('paces frames under the server rate limit', async () => {
      const t = setup();
      t.client.start();
      t.client.startFrames(SESSION);
      await t.openAndReady(5);
      t.last().push({
        type: 'resumed',
        sessionId: SESSION,
        lastAckedSeq: -1,
        storedSeqs: [],
        truncated: false,
        highestStoredSeq: null,
      });
      for (let i = 0; i < 5; i++) t.client.sendFrame(jpeg(i));
      expect(t.last().frameSeqs()).toEqual([0]);
      await vi.advanceTimersByTimeAsync(210);
      expect(t.last().frameSeqs()).toEqual([0, 1]);
      await vi.advanceTimersByTimeAsync(1000);
      expect(t.last().frameSeqs()).toEqual([0, 1, 2, 3, 4]);
    });

    it('after a reconnect re-sends only the frames the server does not hold, then new ones', async () => {
      const t = setup();
      t.client.start();
      t.client.startFrames(SESSION);
      await t.openAndReady(100);
      t.last().push({
        type: 'resumed',
        sessionId: SESSION,
        lastAckedSeq: -1,
        storedSeqs: [],
        truncated: false,
        highestStoredSeq: null,
      });
      for (let i = 0; i < 4; i++) {
        t.client.sendFrame(jpeg(i));
        await vi.advanceTimersByTimeAsync(20);
      }
      expect(t.last().frameSeqs()).toEqual([0, 1, 2, 3]);
      t.last().push({ type: 'frame.ack', seq: 0, duplicate: false });
      expect(t.client.frameStats()).toMatchObject({ acked: 1, unacked: 3, lastAckedSeq: 0 });
      t.last().drop();
      // Captured while disconnected: held.
      t.client.sendFrame(jpeg(4));
      expect(t.client.frameStats().queued).toBe(1);
      await vi.advanceTimersByTimeAsync(100);
      await t.openAndReady(100);
      expect(t.last().json().at(-1)).toEqual({ type: 'resume', sessionId: SESSION, lastAckedSeq: 0 });
      // Frame 2 reached the server before the connection dropped; 1 and 3 did not.
      t.last().push({
        type: 'resumed',
        sessionId: SESSION,
        lastAckedSeq: 0,
        storedSeqs: [2],
        truncated: false,
        highestStoredSeq: 2,
      });
      await vi.advanceTimersByTimeAsync(100);
      expect(t.last().frameSeqs()).toEqual([1, 3, 4]);
      expect(t.client.frameStats()).toMatchObject({ acked: 2, queued: 0, unacked: 3 });
    });

    it('counts frames the server refuses and does not re-send them', async () => {
      const t = setup();
      t.client.start();
      t.client.startFrames(SESSION);
      await t.openAndReady(100);
      t.last().push({
        type: 'resumed',
        sessionId: SESSION,
        lastAckedSeq: -1,
        storedSeqs: [],
        truncated: false,
        highestStoredSeq: null,
      });
      t.client.sendFrame(jpeg(0));
      await vi.advanceTimersByTimeAsync(20);
      t.client.sendFrame(jpeg(1));
      t.last().push({ type: 'frame.dropped', seq: 0, reason: 'rate_limited', code: 'RATE_LIMITED', droppedTotal: 1 });
      t.last().push({ type: 'error', code: 'CONSENT_REQUIRED', message: 'no', seq: 1 });
      expect(t.client.frameStats()).toMatchObject({ dropped: 2, unacked: 0 });
    });

    it('keeps a bounded queue while disconnected, dropping the oldest', () => {
      const sockets: FakeSocket[] = [];
      const client = new RealtimeClient({
        url: 'ws://x/ws',
        socketFactory: (url, h) => {
          const s = new FakeSocket(url, h);
          sockets.push(s);
          return s;
        },
        getToken: async () => 't',
        maxQueuedFrames: 3,
      });
      client.startFrames(SESSION);
      for (let i = 0; i < 5; i++) client.sendFrame(jpeg(i));
      expect(client.frameStats()).toMatchObject({ queued: 3, dropped: 2 });
    });
  });

  it('stop() closes the socket and does not reconnect', async () => {
    const t = setup();
    t.client.start();
    await t.openAndReady();
    const socket = t.last();
    t.client.stop();
    expect(socket.closed?.code).toBe(1000);
    socket.drop(1000);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(t.sockets).toHaveLength(1);
    expect(t.client.currentState).toBe('idle');
  });
});
