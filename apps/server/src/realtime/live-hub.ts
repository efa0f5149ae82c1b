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
import type { SessionDirectory, SessionInfo, SessionState } from './session-directory.ts';

/** A socket that may receive live updates. */
export interface Subscriber {
  readonly actor: StaffActor | CandidateActor;
  /** Live updates may be dropped for a reader that is too slow; see `Connection.send`. */
  push(message: TWsServerMessage): void;
}

export interface LiveHubOptions {
  /**
   * How often the sessions watched by this process are re-read. Changes are pushed on the cache's
   * pub/sub; the poll is the safety net for an announcement lost (pub/sub is at-most-once) or
   * announced out of order, so it can be slow.
   */
  sessionPollMs: number;
  now: () => number;
}

type Position = { status: SessionState['status']; currentPosition: number };

interface Watched {
  orgId: string;
  subscribers: Set<Subscriber>;
  last?: Position;
  /** When the newest state applied was written (epoch ms): an older announcement is stale. */
  writtenAt: number;
  /** `pushes` when an announcement was last applied: a poll that began before it is stale. */
  pushedAt: number;
  /** Analyses already pushed (a redelivered analysis is announced again). */
  recent: string[];
}

const RECENT_ANALYSES = 64;

/**
 * Live updates for subscribed sockets of this process. Every realtime instance hears every update
 * on the cache's pub/sub (emotion results published by the emotion consumer on
 * `interview.emotion.analyzed`, state changes announced by the interviews context and retention
 * on `interview.session.updated`) and passes on those for sessions its own sockets watch. It also
 * re-reads the state of those sessions every `sessionPollMs`, so an announcement lost while the
 * cache reconnects still arrives, later.
 */
export class LiveHub {
  private readonly sessions = new Map<string, Watched>();
  private readonly unsubscribes: (() => Promise<void>)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  /** Announcements applied so far (a logical clock for ordering them against polls). */
  private pushes = 0;

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
    // Watched before the read, so an announcement made while reading is kept, not missed until
    // the next poll. Pushes are matched on the organisation too: another tenant's are ignored.
    const watched = this.sessions.get(sessionId) ?? {
      orgId: actor.orgId,
      subscribers: new Set<Subscriber>(),
      recent: [],
      writtenAt: 0,
      pushedAt: 0,
    };
    this.sessions.set(sessionId, watched);
    let session: SessionInfo | undefined;
    try {
      session = await this.directory.get(actor.orgId, sessionId);
      if (!session) throw new AppError('NOT_FOUND', 'Session not found');
      requireSessionAccess(actor, session);
      if (actor.kind === 'candidate' && session.candidateId !== actor.userId) {
        throw new AppError('NOT_FOUND', 'Session not found');
      }
    } catch (err) {
      if (watched.subscribers.size === 0 && this.sessions.get(sessionId) === watched) this.sessions.delete(sessionId);
      throw err;
    }
    watched.subscribers.add(subscriber);
    this.sessions.set(sessionId, watched);
    // An announcement applied while this was read is newer than what was read.
    if (!watched.last || session.updatedAt.getTime() >= watched.writtenAt) {
      watched.last = { status: session.status, currentPosition: session.currentPosition };
      watched.writtenAt = session.updatedAt.getTime();
    }
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
    const began = this.pushes;
    try {
      for (const state of await this.directory.states(keys)) {
        const watched = this.sessions.get(state.id);
        // What was announced during the read may be newer than what the read saw.
        if (!watched || watched.pushedAt > began) continue;
        // Otherwise the database is the truth, even against an announcement stamped later by a
        // process whose clock runs ahead.
        this.changed(watched, state.id, state.orgId, state, state.updatedAt.getTime());
      }
    } catch (err) {
      this.logger.warn({ err }, 'reading watched sessions failed; retrying on the next tick');
    }
  }

  private changed(watched: Watched, sessionId: string, orgId: string, state: Position, writtenAt: number): void {
    if (watched.orgId !== orgId) return;
    watched.writtenAt = writtenAt;
    if (watched.last?.status === state.status && watched.last.currentPosition === state.currentPosition) return;
    watched.last = { status: state.status, currentPosition: state.currentPosition };
    const message = this.stateMessage(sessionId, watched.last);
    for (const subscriber of watched.subscribers) subscriber.push(message);
  }

  private stateMessage(sessionId: string, state: Position): TWsServerMessage {
    return { type: 'session.state', sessionId, ...state, at: new Date(this.options.now()).toISOString() };
  }

  private onSessionUpdate(json: string): void {
    const parsed = ZSessionUpdate.safeParse(parseJson(json));
    if (!parsed.success) {
      this.logger.warn({ channel: SESSION_UPDATES_CHANNEL }, 'ignoring an invalid session update');
      return;
    }
    const update = parsed.data;
    const watched = this.sessions.get(update.sessionId);
    if (!watched || watched.orgId !== update.orgId) return;
    const writtenAt = Date.parse(update.at);
    // Announcements from several processes can cross on the way: an older one changes nothing.
    if (writtenAt < watched.writtenAt) return;
    watched.pushedAt = ++this.pushes;
    this.changed(watched, update.sessionId, update.orgId, update, writtenAt);
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
