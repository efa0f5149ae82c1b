import {
  EMOTION_EVENTS,
  SESSION_UPDATES_CHANNEL,
  ZEmotionAnalyzed,
  ZSessionUpdate,
  type TEmotionAnalyzed,
  type TWsServerMessage,
} from '@parley/contracts';
import type { Cache } from '../infra/cache/cache.ts';
import type { Logger } from '../infra/log.ts';
import { contextFrom, inSpan, SpanKind } from '../infra/telemetry.ts';
import { requireSessionAccess, type CandidateActor, type StaffActor } from '../shared/actor.ts';
import { AppError } from '../shared/app-error.ts';
import type { SessionDirectory, SessionState } from './session-directory.ts';

/** A socket that may receive live updates. */
export interface Subscriber {
  readonly actor: StaffActor | CandidateActor;
  /** Live updates may be dropped for a reader that is too slow; see `Connection.send`. */
  push(message: TWsServerMessage): void;
}

export interface LiveHubOptions {
  /** How often the sessions watched by this process are re-read for status changes. */
  sessionPollMs: number;
  now: () => number;
}

interface Watched {
  orgId: string;
  subscribers: Set<Subscriber>;
  last?: { status: SessionState['status']; currentPosition: number };
  /** Analyses already pushed (a redelivered analysis is announced again). */
  recent: string[];
}

const RECENT_ANALYSES = 64;

/**
 * Live updates for subscribed sockets of this process. Every realtime instance hears every update
 * on the cache's pub/sub (emotion results published by the emotion consumer on
 * `interview.emotion.analyzed`, state changes on `interview.session.updated`) and passes on those
 * for sessions its own sockets watch; it also re-reads the state of those sessions every
 * `sessionPollMs`, so a change made by a context that announces nothing still arrives.
 */
export class LiveHub {
  private readonly sessions = new Map<string, Watched>();
  private readonly unsubscribes: (() => Promise<void>)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(
    private readonly directory: SessionDirectory,
    private readonly cache: Cache,
    private readonly logger: Logger,
    private readonly options: LiveHubOptions,
  ) {}

  async start(): Promise<void> {
    this.unsubscribes.push(
      await this.cache.subscribe(EMOTION_EVENTS.emotionAnalyzed, (json) => this.onEmotion(json)),
      await this.cache.subscribe(SESSION_UPDATES_CHANNEL, (json) => this.onSessionUpdate(json)),
    );
    this.timer = setInterval(() => void this.poll(), this.options.sessionPollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.polling;
    for (const unsubscribe of this.unsubscribes.splice(0)) {
      await unsubscribe().catch((err: unknown) => this.logger.warn({ err }, 'cache unsubscribe failed'));
    }
    this.sessions.clear();
  }

  /** Adds the subscriber and sends it the session's current state; another tenant's or candidate's session is NOT_FOUND. */
  async subscribe(subscriber: Subscriber, sessionId: string): Promise<void> {
    const { actor } = subscriber;
    const session = await this.directory.get(actor.orgId, sessionId);
    if (!session) throw new AppError('NOT_FOUND', 'Session not found');
    requireSessionAccess(actor, session);
    if (actor.kind === 'candidate' && session.candidateId !== actor.userId) {
      throw new AppError('NOT_FOUND', 'Session not found');
    }
    let watched = this.sessions.get(sessionId);
    if (!watched) {
      watched = { orgId: session.orgId, subscribers: new Set(), recent: [] };
      this.sessions.set(sessionId, watched);
    }
    watched.subscribers.add(subscriber);
    watched.last = { status: session.status, currentPosition: session.currentPosition };
    subscriber.push({ type: 'subscribed', sessionId });
    subscriber.push(this.stateMessage(sessionId, watched.last));
  }

  unsubscribe(subscriber: Subscriber, sessionId: string): void {
    const watched = this.sessions.get(sessionId);
    if (!watched) return;
    watched.subscribers.delete(subscriber);
    if (watched.subscribers.size === 0) this.sessions.delete(sessionId);
  }

  /** Sessions watched by at least one socket of this process. */
  get watchedSessions(): number {
    return this.sessions.size;
  }

  /** Re-reads the watched sessions and pushes what changed. Runs on a timer; exposed for tests. */
  poll(): Promise<void> {
    this.polling ??= this.readStates().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  private async readStates(): Promise<void> {
    const keys = [...this.sessions].map(([sessionId, w]) => ({ sessionId, orgId: w.orgId }));
    if (keys.length === 0) return;
    try {
      for (const state of await this.directory.states(keys)) this.changed(state.id, state.orgId, state);
    } catch (err) {
      this.logger.warn({ err }, 'reading watched sessions failed; retrying on the next tick');
    }
  }

  private changed(
    sessionId: string,
    orgId: string,
    state: { status: SessionState['status']; currentPosition: number },
  ): void {
    const watched = this.sessions.get(sessionId);
    if (!watched || watched.orgId !== orgId) return;
    if (watched.last?.status === state.status && watched.last.currentPosition === state.currentPosition) return;
    watched.last = { status: state.status, currentPosition: state.currentPosition };
    const message = this.stateMessage(sessionId, watched.last);
    for (const subscriber of watched.subscribers) subscriber.push(message);
  }

  private stateMessage(
    sessionId: string,
    state: { status: SessionState['status']; currentPosition: number },
  ): TWsServerMessage {
    return { type: 'session.state', sessionId, ...state, at: new Date(this.options.now()).toISOString() };
  }

  private onSessionUpdate(json: string): void {
    const parsed = ZSessionUpdate.safeParse(parseJson(json));
    if (!parsed.success) {
      this.logger.warn({ channel: SESSION_UPDATES_CHANNEL }, 'ignoring an invalid session update');
      return;
    }
    this.changed(parsed.data.sessionId, parsed.data.orgId, parsed.data);
  }

  private onEmotion(json: string): void {
    const raw = parseJson(json);
    const parsed = ZEmotionAnalyzed.safeParse(raw);
    if (!parsed.success) {
      this.logger.warn({ channel: EMOTION_EVENTS.emotionAnalyzed }, 'ignoring an invalid emotion result');
      return;
    }
    const event = parsed.data;
    const watched = this.sessions.get(event.sessionId);
    if (!watched || watched.orgId !== event.orgId) return;
    if (watched.recent.includes(event.analysisId)) return;
    watched.recent.push(event.analysisId);
    if (watched.recent.length > RECENT_ANALYSES) watched.recent.shift();
    const forStaff: TWsServerMessage = { type: 'emotion', sessionId: event.sessionId, result: event };
    const forCandidate = feedback(event);
    // The emotion consumer sends its trace context along (`traceparent`): the push joins the frame's trace.
    inSpan(
      'realtime push emotion',
      {
        kind: SpanKind.CONSUMER,
        parent: contextFrom(raw),
        attributes: {
          'parley.session_id': event.sessionId,
          'parley.analysis_id': event.analysisId,
          'parley.subscribers': watched.subscribers.size,
        },
      },
      () => {
        for (const subscriber of watched.subscribers) {
          subscriber.push(subscriber.actor.kind === 'staff' ? forStaff : forCandidate);
        }
      },
    );
  }
}

function feedback(event: TEmotionAnalyzed): TWsServerMessage {
  return {
    type: 'frame.feedback',
    sessionId: event.sessionId,
    seq: event.seq,
    faceDetected: event.faceDetected,
    faceCount: event.faceCount,
    qualityOk: event.qualityOk,
    gazeAway: event.gazeAway,
  };
}

function parseJson(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}

/** Announces a session's new state to every realtime instance (for the context that changes it). */
export async function publishSessionUpdate(
  cache: Cache,
  update: { sessionId: string; orgId: string; status: SessionState['status']; currentPosition: number; at?: Date },
): Promise<void> {
  const message = ZSessionUpdate.parse({ ...update, at: (update.at ?? new Date()).toISOString() });
  await cache.publish(SESSION_UPDATES_CHANNEL, JSON.stringify(message));
}
