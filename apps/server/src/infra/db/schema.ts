/**
 * Parley's relational schema (Drizzle, pg-core). Migrations are generated from this file with
 * `npx drizzle-kit generate --config apps/server/drizzle.config.ts` and never pushed.
 *
 * What changed from the design's seven tables, and why:
 * - Tenancy: `organizations`, and every row carries `org_id` (FK, cascade) so each query can be
 *   scoped by organisation. Only `processed_messages` has none: it records broker deliveries,
 *   not tenant data.
 * - Questions are split into `questions` (identity, category, tags) and immutable
 *   `question_versions` (text + rubric). An edit creates a new version; interviews pin a version
 *   and every answer and score records the version it was made against, so a score stays
 *   explainable after the rubric changes. A trigger (custom migration 0001) rejects UPDATEs of a version.
 * - `interviews` + `interview_questions` (an ordered, pinned set of questions with timings) sit
 *   between questions and sessions; `invitations` carry only a hash of their token.
 * - `invitations.kind` is `candidate | recruiter`; a `recruiter` invitation is a staff
 *   invitation sent by an admin, and its `role` column says which staff role (admin or recruiter)
 *   accepting it grants.
 * - `users`: e-mail is globally unique only for staff (partial unique index on lower(email) where
 *   role <> 'candidate'), because the same candidate may be invited by several organisations.
 *   `token_epoch` (bumped by "sign out everywhere") and `disabled_at` support token revocation.
 * - `refresh_tokens` store rotation families (family id, parent, used_at) for reuse detection.
 * - `interview_sessions.settings` snapshots the interview settings (emotion policy, weights,
 *   language) when the session is created, so a later policy change does not rewrite history.
 * - `emotion_analysis`: one row per analysed frame, `source` = live stream or recorded video, and
 *   unique(session, source, frame_seq) so a redelivered analysis job cannot double-insert.
 * - `scores`: one table for criterion, answer, emotion, behavioural and session scores (`kind`),
 *   with provider/model/prompt/rubric version, evidence and a human override. A unique index
 *   (NULLS NOT DISTINCT, PostgreSQL 15+) on (session, kind, answer, criterion) makes
 *   "score a session twice → one result" an upsert, not a duplicate.
 * - `api_keys` gain a fingerprint (to find duplicates without decrypting), failure counters,
 *   a cool-down (`disabled_until`), a priority and a per-key rate limit for round-robin/failover.
 * - Added: `consents` (append-only history), `audit_log`, `frames` (unique(session, seq) so an
 *   acknowledged frame is recorded once), `reports`, `processed_messages` (exactly-once job
 *   effects: insert the message id in the same transaction as the effect).
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  jsonb,
  numeric,
  pgEnum,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
  type AnyPgColumn,
} from 'drizzle-orm/pg-core';

// ---------------------------------------------------------------------------------------------
// Enums

export const userRole = pgEnum('user_role', ['admin', 'recruiter', 'candidate']);
export const sessionStatus = pgEnum('session_status', [
  'invited',
  'consented',
  'in_progress',
  'completed',
  'scoring',
  'scored',
  'expired',
  'abandoned',
]);
export const interviewStatus = pgEnum('interview_status', ['draft', 'published', 'archived']);
export const invitationKind = pgEnum('invitation_kind', ['candidate', 'recruiter']);
export const consentKind = pgEnum('consent_kind', ['recording', 'video_analysis', 'ai_notice']);
export const emotionSource = pgEnum('emotion_source', ['stream', 'video']);
export const scoreKind = pgEnum('score_kind', [
  'criterion',
  'answer',
  'emotion',
  'behavioral',
  'session',
  // Appended by migration 0005: the final score's split (session-level rows, like `emotion`).
  'technical',
  'communication',
]);
export const reportKind = pgEnum('report_kind', ['html', 'pdf', 'feedback']);
export const reportStatus = pgEnum('report_status', ['pending', 'ready', 'failed']);

export type UserRole = (typeof userRole.enumValues)[number];
export type SessionStatus = (typeof sessionStatus.enumValues)[number];
export type InterviewStatus = (typeof interviewStatus.enumValues)[number];
export type InvitationKind = (typeof invitationKind.enumValues)[number];
export type ConsentKind = (typeof consentKind.enumValues)[number];
export type EmotionSource = (typeof emotionSource.enumValues)[number];
export type ScoreKind = (typeof scoreKind.enumValues)[number];
export type ReportKind = (typeof reportKind.enumValues)[number];
export type ReportStatus = (typeof reportStatus.enumValues)[number];

// ---------------------------------------------------------------------------------------------
// JSONB shapes (validated at the service boundary; the types only document them here)

/** `off`: no video analysis at all; `insights`: shown to recruiters, never scored; `scored`: weighted into the score. */
export type EmotionPolicy = 'off' | 'insights' | 'scored';

export interface OrgSettings {
  emotionPolicy?: EmotionPolicy;
  /** Sessions, media and analysis older than this are deleted by the retention job. */
  retentionDays?: number;
  [key: string]: unknown;
}

/** Relative weights of the parts of a session's final score. */
export interface ScoreWeights {
  answers?: number;
  emotion?: number;
  behavioral?: number;
  [key: string]: number | undefined;
}

export interface InterviewSettings {
  language?: string;
  /** ISO-8601 instant after which invitations to this interview can no longer be used. */
  deadline?: string;
  /** Overrides the organisation's policy, but only towards less analysis. */
  emotionPolicy?: EmotionPolicy;
  weights?: ScoreWeights;
  [key: string]: unknown;
}

/** The interview settings as they were when the session was created. */
export type SessionSettings = InterviewSettings;

export interface RubricCriterion {
  key: string;
  name: string;
  description?: string;
  weight: number;
  /** What an answer scoring 0–5 looks like; at least the anchors for 1, 3 and 5. */
  anchors: Partial<Record<'0' | '1' | '2' | '3' | '4' | '5', string>> & Record<'1' | '3' | '5', string>;
}

export interface Rubric {
  criteria: RubricCriterion[];
  idealAnswer: string;
  keyConcepts: string[];
}

/** Word timings and confidences from speech-to-text. */
export interface TranscriptWord {
  word: string;
  startMs: number;
  endMs: number;
  confidence?: number;
}

// ---------------------------------------------------------------------------------------------
// Column helpers

const id = () =>
  uuid('id')
    .primaryKey()
    .default(sql`gen_random_uuid()`);
const tz = (name: string) => timestamp(name, { withTimezone: true });
const createdAt = () => tz('created_at').notNull().defaultNow();
const updatedAt = () =>
  tz('updated_at')
    .notNull()
    .defaultNow()
    .$onUpdate(() => new Date());
const orgId = () =>
  uuid('org_id')
    .notNull()
    .references(() => organizations.id, { onDelete: 'cascade' });

// ---------------------------------------------------------------------------------------------
// Tenancy and accounts

export const organizations = pgTable('organizations', {
  id: id(),
  name: text('name').notNull(),
  settings: jsonb('settings').$type<OrgSettings>().notNull().default({ emotionPolicy: 'insights', retentionDays: 365 }),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const users = pgTable(
  'users',
  {
    id: id(),
    orgId: orgId(),
    email: text('email').notNull(),
    name: text('name').notNull().default(''),
    role: userRole('role').notNull(),
    /** Null for candidates, who never sign in with a password. */
    passwordHash: text('password_hash'),
    /** Access tokens carry the epoch they were minted at; bumping it signs the user out everywhere. */
    tokenEpoch: integer('token_epoch').notNull().default(0),
    disabledAt: tz('disabled_at'),
    lastLoginAt: tz('last_login_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('users_staff_email_uq')
      .on(sql`lower(${t.email})`)
      .where(sql`${t.role} <> 'candidate'`),
    index('users_org_email_idx').on(t.orgId, sql`lower(${t.email})`),
    index('users_org_role_idx').on(t.orgId, t.role),
  ],
);

export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: id(),
    orgId: orgId(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** All tokens rotated from one sign-in share a family; reusing a used token revokes the family. */
    familyId: uuid('family_id').notNull(),
    tokenHash: text('token_hash').notNull(),
    parentId: uuid('parent_id').references((): AnyPgColumn => refreshTokens.id, { onDelete: 'set null' }),
    /** Candidate tokens are bound to the one session they were issued for. */
    sessionId: uuid('session_id').references(() => interviewSessions.id, { onDelete: 'cascade' }),
    expiresAt: tz('expires_at').notNull(),
    usedAt: tz('used_at'),
    revokedAt: tz('revoked_at'),
    ip: text('ip'),
    userAgent: text('user_agent'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('refresh_tokens_token_hash_uq').on(t.tokenHash),
    index('refresh_tokens_family_idx').on(t.familyId),
    index('refresh_tokens_user_idx').on(t.userId),
    index('refresh_tokens_expires_idx').on(t.expiresAt),
  ],
);

export const auditLog = pgTable(
  'audit_log',
  {
    id: id(),
    orgId: orgId(),
    actorId: uuid('actor_id').references(() => users.id, { onDelete: 'set null' }),
    action: text('action').notNull(),
    targetType: text('target_type'),
    targetId: text('target_id'),
    ip: text('ip'),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [
    index('audit_log_org_created_idx').on(t.orgId, t.createdAt.desc()),
    index('audit_log_org_action_idx').on(t.orgId, t.action),
    index('audit_log_target_idx').on(t.orgId, t.targetType, t.targetId),
  ],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    id: id(),
    orgId: orgId(),
    /** `openai`, `anthropic` or `openai-compatible`. */
    provider: text('provider').notNull(),
    label: text('label').notNull().default(''),
    baseUrl: text('base_url'),
    model: text('model'),
    /** AES-256-GCM ciphertext of the key under SECRETS_KEY; never the plain key. */
    encryptedKey: text('encrypted_key').notNull(),
    /** HMAC/SHA-256 fingerprint of the plain key, to detect duplicates without decrypting. */
    fingerprint: text('fingerprint').notNull(),
    /** Last four characters, to let an admin recognise the key. */
    last4: text('last4').notNull().default(''),
    isActive: boolean('is_active').notNull().default(true),
    /** Lower is tried first; keys of equal priority are used round-robin. */
    priority: integer('priority').notNull().default(0),
    usageCount: bigint('usage_count', { mode: 'number' }).notNull().default(0),
    lastUsedAt: tz('last_used_at'),
    failureCount: bigint('failure_count', { mode: 'number' }).notNull().default(0),
    consecutiveFailures: integer('consecutive_failures').notNull().default(0),
    lastFailureAt: tz('last_failure_at'),
    lastError: text('last_error'),
    /** Set after a 401/429/5xx: the key is skipped until then. */
    disabledUntil: tz('disabled_until'),
    /** Requests per minute this key may make; null = no per-key limit. */
    rateLimitPerMin: integer('rate_limit_per_min'),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('api_keys_org_provider_fingerprint_uq').on(t.orgId, t.provider, t.fingerprint),
    index('api_keys_provider_active_idx').on(t.orgId, t.provider, t.isActive, t.priority),
    check('api_keys_rate_limit_positive', sql`${t.rateLimitPerMin} IS NULL OR ${t.rateLimitPerMin} > 0`),
  ],
);

// ---------------------------------------------------------------------------------------------
// Question bank and interviews

export const questions = pgTable(
  'questions',
  {
    id: id(),
    orgId: orgId(),
    category: text('category').notNull().default('general'),
    difficulty: integer('difficulty'),
    /** How long a good answer takes, in seconds; the default answer time when the question is added to an interview. */
    expectedSeconds: integer('expected_seconds'),
    tags: text('tags')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /** Number of the newest row in `question_versions`. */
    latestVersion: integer('latest_version').notNull().default(1),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    archivedAt: tz('archived_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('questions_org_category_idx').on(t.orgId, t.category),
    index('questions_tags_gin_idx').using('gin', t.tags),
    check('questions_difficulty_range', sql`${t.difficulty} IS NULL OR ${t.difficulty} BETWEEN 1 AND 5`),
    check('questions_expected_seconds_positive', sql`${t.expectedSeconds} IS NULL OR ${t.expectedSeconds} > 0`),
  ],
);

/** Immutable (a trigger, migration 0001, rejects UPDATE): an edit of a question's text or rubric inserts version n+1. */
export const questionVersions = pgTable(
  'question_versions',
  {
    id: id(),
    orgId: orgId(),
    questionId: uuid('question_id')
      .notNull()
      .references(() => questions.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    text: text('text').notNull(),
    rubric: jsonb('rubric').$type<Rubric>().notNull(),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [
    unique('question_versions_question_version_uq').on(t.questionId, t.version),
    index('question_versions_org_idx').on(t.orgId),
    check('question_versions_version_positive', sql`${t.version} >= 1`),
  ],
);

export const interviews = pgTable(
  'interviews',
  {
    id: id(),
    orgId: orgId(),
    title: text('title').notNull(),
    description: text('description').notNull().default(''),
    status: interviewStatus('status').notNull().default('draft'),
    settings: jsonb('settings').$type<InterviewSettings>().notNull().default({}),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    publishedAt: tz('published_at'),
    archivedAt: tz('archived_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('interviews_org_status_idx').on(t.orgId, t.status, t.createdAt.desc())],
);

export const interviewQuestions = pgTable(
  'interview_questions',
  {
    id: id(),
    orgId: orgId(),
    interviewId: uuid('interview_id')
      .notNull()
      .references(() => interviews.id, { onDelete: 'cascade' }),
    /** 0-based order within the interview. */
    position: integer('position').notNull(),
    questionId: uuid('question_id')
      .notNull()
      .references(() => questions.id, { onDelete: 'restrict' }),
    /** The version candidates see and are scored against, pinned when the question is added. */
    questionVersionId: uuid('question_version_id')
      .notNull()
      .references(() => questionVersions.id, { onDelete: 'restrict' }),
    /** A warm-up question: answered, never scored. */
    isPractice: boolean('is_practice').notNull().default(false),
    prepSeconds: integer('prep_seconds').notNull().default(30),
    answerSeconds: integer('answer_seconds').notNull().default(120),
    retakesAllowed: integer('retakes_allowed').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('interview_questions_interview_position_uq').on(t.interviewId, t.position),
    index('interview_questions_question_idx').on(t.questionId),
    check(
      'interview_questions_limits',
      sql`${t.position} >= 0 AND ${t.prepSeconds} >= 0 AND ${t.answerSeconds} > 0 AND ${t.retakesAllowed} >= 0`,
    ),
  ],
);

// ---------------------------------------------------------------------------------------------
// Sessions and everything a session produces

export const interviewSessions = pgTable(
  'interview_sessions',
  {
    id: id(),
    orgId: orgId(),
    interviewId: uuid('interview_id')
      .notNull()
      .references(() => interviews.id, { onDelete: 'cascade' }),
    candidateId: uuid('candidate_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    status: sessionStatus('status').notNull().default('invited'),
    settings: jsonb('settings').$type<SessionSettings>().notNull().default({}),
    /** Position of the question the candidate is on. */
    currentPosition: integer('current_position').notNull().default(0),
    expiresAt: tz('expires_at'),
    consentedAt: tz('consented_at'),
    startedAt: tz('started_at'),
    completedAt: tz('completed_at'),
    scoredAt: tz('scored_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('interview_sessions_org_status_idx').on(t.orgId, t.status),
    index('interview_sessions_interview_idx').on(t.interviewId, t.createdAt.desc()),
    index('interview_sessions_candidate_idx').on(t.candidateId),
    index('interview_sessions_created_idx').on(t.orgId, t.createdAt),
  ],
);

export const invitations = pgTable(
  'invitations',
  {
    id: id(),
    orgId: orgId(),
    kind: invitationKind('kind').notNull().default('candidate'),
    /** Set for candidate invitations. */
    interviewId: uuid('interview_id').references(() => interviews.id, { onDelete: 'cascade' }),
    /** Staff role granted by a `recruiter` invitation (admin or recruiter); null for candidates. */
    role: userRole('role'),
    name: text('name').notNull().default(''),
    email: text('email').notNull(),
    /** SHA-256 of the token in the link; the token itself is never stored. */
    tokenHash: text('token_hash').notNull(),
    expiresAt: tz('expires_at').notNull(),
    usedAt: tz('used_at'),
    revokedAt: tz('revoked_at'),
    sentAt: tz('sent_at'),
    remindedAt: tz('reminded_at'),
    /** When an e-mail of this invitation last failed for good; cleared when one is delivered. */
    deliveryFailedAt: tz('delivery_failed_at'),
    /** Why it failed, in a few words (the mail server's answer, or "not queued"). */
    deliveryFailure: text('delivery_failure'),
    sessionId: uuid('session_id').references(() => interviewSessions.id, { onDelete: 'set null' }),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('invitations_token_hash_uq').on(t.tokenHash),
    index('invitations_org_interview_idx').on(t.orgId, t.interviewId),
    index('invitations_org_email_idx').on(t.orgId, sql`lower(${t.email})`),
    index('invitations_session_idx').on(t.sessionId),
    check(
      'invitations_kind_shape',
      sql`(${t.kind} = 'candidate' AND ${t.interviewId} IS NOT NULL AND ${t.role} IS NULL)
        OR (${t.kind} = 'recruiter' AND ${t.role} IN ('admin', 'recruiter'))`,
    ),
  ],
);

/** Append-only: withdrawing consent inserts a row with granted = false; the newest row per kind wins. */
export const consents = pgTable(
  'consents',
  {
    id: id(),
    orgId: orgId(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => interviewSessions.id, { onDelete: 'cascade' }),
    kind: consentKind('kind').notNull(),
    granted: boolean('granted').notNull(),
    /** Version of the notice text the candidate saw. */
    textVersion: text('text_version').notNull(),
    recordedAt: tz('recorded_at').notNull().defaultNow(),
    ip: text('ip'),
    userAgent: text('user_agent'),
  },
  (t) => [index('consents_session_kind_idx').on(t.sessionId, t.kind, t.recordedAt.desc())],
);

export const answers = pgTable(
  'answers',
  {
    id: id(),
    orgId: orgId(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => interviewSessions.id, { onDelete: 'cascade' }),
    interviewQuestionId: uuid('interview_question_id').references(() => interviewQuestions.id, {
      onDelete: 'set null',
    }),
    questionVersionId: uuid('question_version_id')
      .notNull()
      .references(() => questionVersions.id, { onDelete: 'restrict' }),
    position: integer('position').notNull(),
    /** 1 for the first answer; each retake adds one. */
    attempt: integer('attempt').notNull().default(1),
    isPractice: boolean('is_practice').notNull().default(false),
    /** Storage key of the recorded audio/video, if any. */
    mediaKey: text('media_key'),
    mediaContentType: text('media_content_type'),
    durationMs: integer('duration_ms'),
    /** Typed answer, for text questions or when no recording is possible. */
    textAnswer: text('text_answer'),
    transcript: text('transcript'),
    words: jsonb('words').$type<TranscriptWord[]>(),
    /** Which engine produced the transcript (e.g. pocketsphinx, openai, browser). */
    transcriptSource: text('transcript_source'),
    /**
     * Server-side timers of this attempt, set when it is opened: preparation ends at
     * `prep_ends_at`, answering may start earlier (`answer_started_at`) and must end by
     * `answer_ends_at`. The client's clock is never trusted.
     */
    prepEndsAt: tz('prep_ends_at'),
    answerStartedAt: tz('answer_started_at'),
    answerEndsAt: tz('answer_ends_at'),
    submittedAt: tz('submitted_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('answers_session_position_attempt_uq').on(t.sessionId, t.position, t.attempt),
    index('answers_org_idx').on(t.orgId),
    check('answers_attempt_positive', sql`${t.attempt} >= 1 AND ${t.position} >= 0`),
  ],
);

export const frames = pgTable(
  'frames',
  {
    id: id(),
    orgId: orgId(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => interviewSessions.id, { onDelete: 'cascade' }),
    /** Sequence number assigned by the client; a re-sent frame hits the unique constraint. */
    seq: integer('seq').notNull(),
    storageKey: text('storage_key').notNull(),
    sizeBytes: integer('size_bytes'),
    capturedAt: tz('captured_at').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    unique('frames_session_seq_uq').on(t.sessionId, t.seq),
    index('frames_session_captured_idx').on(t.sessionId, t.capturedAt),
  ],
);

export const emotionAnalysis = pgTable(
  'emotion_analysis',
  {
    id: id(),
    orgId: orgId(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => interviewSessions.id, { onDelete: 'cascade' }),
    answerId: uuid('answer_id').references(() => answers.id, { onDelete: 'set null' }),
    source: emotionSource('source').notNull().default('stream'),
    /** Frame sequence (stream) or frame index (video); with source, identifies the analysed frame. */
    frameSeq: integer('frame_seq').notNull(),
    /** When the frame was captured. */
    frameTs: tz('frame_ts').notNull(),
    faceDetected: boolean('face_detected').notNull(),
    /** Dominant expression; null when no face was found. */
    emotion: text('emotion'),
    confidence: real('confidence'),
    blinkCount: integer('blink_count').notNull().default(0),
    /** Full per-frame output: expression distribution, landmarks summary, EAR, head pose, model versions. */
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [
    unique('emotion_analysis_frame_uq').on(t.sessionId, t.source, t.frameSeq),
    index('emotion_analysis_session_ts_idx').on(t.sessionId, t.frameTs),
    index('emotion_analysis_metadata_gin_idx').using('gin', t.metadata),
    check(
      'emotion_analysis_confidence_range',
      sql`${t.confidence} IS NULL OR (${t.confidence} >= 0 AND ${t.confidence} <= 1)`,
    ),
  ],
);

export const scores = pgTable(
  'scores',
  {
    id: id(),
    orgId: orgId(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => interviewSessions.id, { onDelete: 'cascade' }),
    kind: scoreKind('kind').notNull(),
    /** Null for session-level scores. */
    answerId: uuid('answer_id').references(() => answers.id, { onDelete: 'cascade' }),
    /** Rubric criterion key for `criterion` scores; null otherwise. */
    criterion: text('criterion'),
    score: numeric('score', { precision: 7, scale: 3, mode: 'number' }).notNull(),
    maxScore: numeric('max_score', { precision: 7, scale: 3, mode: 'number' }).notNull(),
    /** Why: quotes from the transcript, matched concepts, anchor chosen, frame statistics. */
    evidence: jsonb('evidence').$type<Record<string, unknown>>().notNull().default({}),
    provider: text('provider').notNull(),
    model: text('model').notNull(),
    promptVersion: text('prompt_version').notNull(),
    questionVersionId: uuid('question_version_id').references(() => questionVersions.id, { onDelete: 'restrict' }),
    rubricVersion: integer('rubric_version'),
    overrideScore: numeric('override_score', { precision: 7, scale: 3, mode: 'number' }),
    overrideReason: text('override_reason'),
    overriddenBy: uuid('overridden_by').references(() => users.id, { onDelete: 'set null' }),
    overriddenAt: tz('overridden_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('scores_one_result_uq').on(t.sessionId, t.kind, t.answerId, t.criterion).nullsNotDistinct(),
    index('scores_org_session_idx').on(t.orgId, t.sessionId),
    index('scores_answer_idx').on(t.answerId),
    check('scores_range', sql`${t.score} >= 0 AND ${t.score} <= ${t.maxScore}`),
    check(
      'scores_override_complete',
      sql`${t.overrideScore} IS NULL OR (${t.overrideReason} IS NOT NULL AND ${t.overriddenAt} IS NOT NULL)`,
    ),
  ],
);

export const reports = pgTable(
  'reports',
  {
    id: id(),
    orgId: orgId(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => interviewSessions.id, { onDelete: 'cascade' }),
    kind: reportKind('kind').notNull(),
    status: reportStatus('status').notNull().default('pending'),
    storageKey: text('storage_key'),
    error: text('error'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [unique('reports_session_kind_uq').on(t.sessionId, t.kind)],
);

// ---------------------------------------------------------------------------------------------
// Infrastructure

/**
 * Broker deliveries whose effects are committed. A consumer inserts (consumer, message_id) in the
 * same transaction as its effect; a redelivery then conflicts and the effect is skipped.
 */
export const processedMessages = pgTable(
  'processed_messages',
  {
    consumer: text('consumer').notNull(),
    messageId: text('message_id').notNull(),
    processedAt: tz('processed_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.consumer, t.messageId] }),
    index('processed_messages_processed_idx').on(t.processedAt),
  ],
);

// ---------------------------------------------------------------------------------------------
// Workers (appended by the workers context)

export const answerMediaStatus = pgEnum('answer_media_status', ['processing', 'ready', 'failed']);
export type AnswerMediaStatus = (typeof answerMediaStatus.enumValues)[number];

/**
 * What video processing made of an answer's recording: an MP4 (H.264/AAC, fast start), a poster
 * JPEG, the audio for transcription and frames for batch emotion analysis, all as storage keys.
 * One row per answer (a redelivered job updates it); a corrupt upload ends as `failed` with the
 * reason in `error`. Retention clears keys and stamps `*_deleted_at` rather than deleting the row.
 */
export const answerMedia = pgTable(
  'answer_media',
  {
    id: id(),
    orgId: orgId(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => interviewSessions.id, { onDelete: 'cascade' }),
    answerId: uuid('answer_id')
      .notNull()
      .references(() => answers.id, { onDelete: 'cascade' }),
    sourceKey: text('source_key').notNull(),
    status: answerMediaStatus('status').notNull().default('processing'),
    videoKey: text('video_key'),
    posterKey: text('poster_key'),
    audioKey: text('audio_key'),
    /** Storage prefix of the extracted JPEG frames; null when video analysis was not consented to. */
    framesPrefix: text('frames_prefix'),
    frameCount: integer('frame_count').notNull().default(0),
    durationMs: integer('duration_ms'),
    width: integer('width'),
    height: integer('height'),
    error: text('error'),
    attempts: integer('attempts').notNull().default(0),
    processedAt: tz('processed_at'),
    framesDeletedAt: tz('frames_deleted_at'),
    recordingDeletedAt: tz('recording_deleted_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('answer_media_answer_uq').on(t.answerId),
    index('answer_media_org_status_idx').on(t.orgId, t.status),
    index('answer_media_session_idx').on(t.sessionId),
  ],
);

/**
 * Storage objects no row references, as first seen by the orphan sweep. An object is deleted only
 * when a later sweep, after a grace period, still finds it unreferenced: an upload in flight
 * writes its object before the row that points to it.
 */
export const storageOrphans = pgTable('storage_orphans', {
  key: text('key').primaryKey(),
  firstSeenAt: tz('first_seen_at').notNull().defaultNow(),
});

export const videoEmotionStatus = pgEnum('video_emotion_status', ['running', 'done', 'skipped', 'failed']);
export type VideoEmotionStatus = (typeof videoEmotionStatus.enumValues)[number];

/**
 * Batch emotion analysis of one answer's recording (the frames video processing extracted), with
 * its progress. One row per answer. Its `emotion_analysis` rows (source `video`) use frame
 * sequence numbers `seq_slot × 1 000 000 + frame index`: a session has one sequence space per
 * source, and each recorded answer takes its own slot of it.
 */
export const videoEmotionRuns = pgTable(
  'video_emotion_runs',
  {
    id: id(),
    orgId: orgId(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => interviewSessions.id, { onDelete: 'cascade' }),
    answerId: uuid('answer_id')
      .notNull()
      .references(() => answers.id, { onDelete: 'cascade' }),
    /** The recording the frames came from; a new recording of the answer restarts the run. */
    sourceKey: text('source_key').notNull(),
    framesPrefix: text('frames_prefix').notNull(),
    framesPerSecond: real('frames_per_second').notNull(),
    seqSlot: integer('seq_slot').notNull(),
    status: videoEmotionStatus('status').notNull().default('running'),
    framesTotal: integer('frames_total').notNull().default(0),
    framesDone: integer('frames_done').notNull().default(0),
    /** The session summary of this recording (faces, blinks, expressions), once done. */
    summary: jsonb('summary').$type<Record<string, unknown>>(),
    /** Why the run was skipped (consent withdrawn, policy off) or failed. */
    error: text('error'),
    attempts: integer('attempts').notNull().default(0),
    startedAt: tz('started_at'),
    finishedAt: tz('finished_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('video_emotion_runs_answer_uq').on(t.answerId),
    unique('video_emotion_runs_session_slot_uq').on(t.sessionId, t.seqSlot),
    index('video_emotion_runs_org_status_idx').on(t.orgId, t.status),
    check('video_emotion_runs_progress', sql`${t.framesDone} >= 0 AND ${t.framesDone} <= ${t.framesTotal}`),
  ],
);
