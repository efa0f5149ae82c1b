import type { Broker } from '../infra/broker/broker.ts';
import type { Cache } from '../infra/cache/cache.ts';
import type { Database } from '../infra/db/database.ts';
import type { HttpServer } from '../infra/http/http-server.ts';
import type { Logger } from '../infra/log.ts';
import type { Storage } from '../infra/storage/storage.ts';
import { systemClock, type Clock } from './clock.ts';
import { InterviewRepository } from './interview.repository.ts';
import { InterviewService } from './interview.service.ts';
import { registerInterviewsRoutes, type InterviewsServices } from './interviews.routes.ts';
import { InvitationRepository } from './invitation.repository.ts';
import { InvitationService, type CandidateAccounts } from './invitation.service.ts';
import { MediaRepository } from './media.repository.ts';
import { MediaService, type MediaTokens } from './media.service.ts';
import { RecordingViews, type AuditLog } from './recording-views.ts';
import { QuestionBankRepository } from './question-bank.repository.ts';
import { QuestionBankService } from './question-bank.service.ts';
import { SessionAnnouncer } from './session-cache.ts';
import { SessionRepository } from './session.repository.ts';
import { SessionService } from './session.service.ts';

export type { Clock } from './clock.ts';
export type { CandidateAccounts } from './invitation.service.ts';
export type { MediaTokens } from './media.service.ts';
export type { AuditLog } from './recording-views.ts';
export type { InterviewsServices } from './interviews.routes.ts';
export { QuestionBankService } from './question-bank.service.ts';
export { InterviewService } from './interview.service.ts';
export { InvitationService } from './invitation.service.ts';
export { SessionService, EVENTS as INTERVIEW_EVENTS, RECORDING_TYPES } from './session.service.ts';
export { SESSION_TRANSITIONS, canTransition } from './session-state.ts';
export {
  announceSessionUpdates,
  sessionCacheKey,
  writingSessions,
  SESSION_CACHE_TTL_SECONDS,
  type SessionUpdate,
} from './session-cache.ts';

export interface InterviewsConfig {
  /** Default validity of an invitation link. */
  invitationTtlSeconds: number;
  /** Answers arriving this long after the answer deadline are still taken (network latency). */
  answerGraceSeconds: number;
  /** A recording started in time must finish uploading this long after the answer deadline. */
  uploadGraceSeconds: number;
  maxRecordingBytes: number;
  /** How long the media URLs of a recordings list work. */
  mediaUrlTtlSeconds: number;
}

export const DEFAULT_INTERVIEWS_CONFIG: InterviewsConfig = {
  invitationTtlSeconds: 7 * 24 * 3600,
  answerGraceSeconds: 3,
  uploadGraceSeconds: 120,
  maxRecordingBytes: 200 * 1024 * 1024,
  mediaUrlTtlSeconds: 30 * 60,
};

export interface InterviewsDeps {
  database: Database;
  storage: Storage;
  /** Takes the context's events and its e-mail requests (sent by the workers' `notification.email` job). */
  broker: Broker;
  /** Holds `session:{id}` snapshots and carries state changes to realtime instances (pub/sub). */
  cache: Cache;
  logger: Logger;
  /** The accounts context (`AccountsService` fits). */
  accounts: CandidateAccounts & MediaTokens & AuditLog;
  config?: Partial<InterviewsConfig>;
  clock?: Clock;
}

export interface InterviewsModule extends InterviewsServices {
  /** Mounts every route of the context; call before the server listens. */
  registerRoutes(app: HttpServer): Promise<void>;
}

/**
 * The interviews context: question bank, interviews, candidate invitations and sessions.
 * Routes expect `request.actor` to be set by the accounts context's authentication hook.
 */
export function createInterviewsModule(deps: InterviewsDeps): InterviewsModule {
  const config: InterviewsConfig = { ...DEFAULT_INTERVIEWS_CONFIG, ...deps.config };
  const clock = deps.clock ?? systemClock;
  const questionRepo = new QuestionBankRepository(deps.database);
  const interviewRepo = new InterviewRepository(deps.database);
  const sessionRepo = new SessionRepository(deps.database, deps.cache, interviewRepo);
  const invitationRepo = new InvitationRepository(deps.database);
  const logger = deps.logger.child({ context: 'interviews' });
  const updates = new SessionAnnouncer(deps.cache, logger);
  const services: InterviewsServices = {
    questions: new QuestionBankService(questionRepo, clock),
    interviews: new InterviewService(interviewRepo, questionRepo, sessionRepo, clock),
    invitations: new InvitationService(
      deps.database,
      invitationRepo,
      interviewRepo,
      sessionRepo,
      updates,
      deps.accounts,
      deps.broker,
      logger,
      clock,
      config,
    ),
    sessions: new SessionService(deps.database, sessionRepo, updates, deps.storage, deps.broker, clock, config),
  };
  const mediaRepo = new MediaRepository(deps.database);
  const media = new MediaService(mediaRepo, deps.storage, deps.accounts, clock, config);
  // A media URL is accepted up to the token check's clock skew after it expires.
  const recordingViews = new RecordingViews(
    deps.cache,
    deps.accounts,
    deps.accounts,
    mediaRepo,
    config.mediaUrlTtlSeconds + 60,
  );
  return {
    ...services,
    registerRoutes: (app) =>
      registerInterviewsRoutes(app, services, {
        maxRecordingBytes: config.maxRecordingBytes,
        media,
        recordingViews,
      }),
  };
}
