import { z } from 'zod';
import { ZEmail, ZTokenPair } from './auth.ts';

const ZId = z.uuid();
const ZInstant = z.iso.datetime();
const ZText = (max: number) => z.string().trim().min(1).max(max);

// ---------------------------------------------------------------------------------------------
// Question bank

const ZAnchor = z.string().trim().min(1).max(2000);

/** What an answer scoring 0–5 on a criterion looks like; anchors for 1, 3 and 5 are required. */
export const ZQuestionRubricAnchors = z.strictObject({
  '0': ZAnchor.optional(),
  '1': ZAnchor,
  '2': ZAnchor.optional(),
  '3': ZAnchor,
  '4': ZAnchor.optional(),
  '5': ZAnchor,
});

export const ZQuestionRubricCriterion = z.strictObject({
  key: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lower-case letters, digits, "_" and "-"')
    .describe('Stable identifier of the criterion, used by scores'),
  name: ZText(200),
  description: z.string().trim().max(2000).optional(),
  weight: z.number().positive().max(100).default(1).describe('Relative weight within the question'),
  anchors: ZQuestionRubricAnchors,
});

export const ZQuestionRubric = z
  .strictObject({
    criteria: z.array(ZQuestionRubricCriterion).min(1).max(20),
    idealAnswer: z.string().trim().max(10_000).default(''),
    keyConcepts: z.array(ZText(200)).max(50).default([]),
  })
  .refine((r) => new Set(r.criteria.map((c) => c.key)).size === r.criteria.length, {
    message: 'Criterion keys must be unique',
    path: ['criteria'],
  });
export type TQuestionRubric = z.infer<typeof ZQuestionRubric>;

const ZCategory = ZText(100);
const ZTag = z.string().trim().toLowerCase().min(1).max(50);
const ZDifficulty = z.number().int().min(1).max(5);
const ZExpectedSeconds = z.number().int().min(1).max(3600);

export const ZCreateQuestionBody = z.strictObject({
  text: ZText(5000),
  category: ZCategory.default('general'),
  difficulty: ZDifficulty.nullable().optional(),
  tags: z.array(ZTag).max(30).default([]),
  expectedSeconds: ZExpectedSeconds.nullable().optional(),
  rubric: ZQuestionRubric,
});
export type TCreateQuestionBody = z.infer<typeof ZCreateQuestionBody>;

/** Text or rubric changes create a new version; category, difficulty, tags and duration do not. */
export const ZUpdateQuestionBody = z
  .strictObject({
    text: ZText(5000).optional(),
    rubric: ZQuestionRubric.optional(),
    category: ZCategory.optional(),
    difficulty: ZDifficulty.nullable().optional(),
    tags: z.array(ZTag).max(30).optional(),
    expectedSeconds: ZExpectedSeconds.nullable().optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), { message: 'Nothing to change' });
export type TUpdateQuestionBody = z.infer<typeof ZUpdateQuestionBody>;

export const ZQuestionVersion = z.object({
  id: ZId,
  questionId: ZId,
  version: z.number().int(),
  text: z.string(),
  rubric: ZQuestionRubric,
  createdAt: ZInstant,
});
export type TQuestionVersion = z.infer<typeof ZQuestionVersion>;

export const ZQuestion = z.object({
  id: ZId,
  category: z.string(),
  difficulty: z.number().int().nullable(),
  tags: z.array(z.string()),
  expectedSeconds: z.number().int().nullable(),
  archivedAt: ZInstant.nullable(),
  createdAt: ZInstant,
  updatedAt: ZInstant,
  /** The newest version. */
  current: ZQuestionVersion,
});
export type TQuestion = z.infer<typeof ZQuestion>;

const ZBooleanQuery = z.enum(['true', 'false']).transform((v) => v === 'true');

export const ZQuestionQuery = z.strictObject({
  q: z.string().trim().max(200).optional().describe('Case-insensitive text search'),
  category: z.string().trim().max(100).optional(),
  tag: z.string().trim().toLowerCase().max(50).optional(),
  difficulty: z.coerce.number().int().min(1).max(5).optional(),
  archived: ZBooleanQuery.optional().describe('true: only archived; false (default): only active'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
});
export type TQuestionQuery = z.infer<typeof ZQuestionQuery>;

// ---------------------------------------------------------------------------------------------
// Interviews

export const ZEmotionPolicy = z.enum(['off', 'insights', 'scored']);
export type TEmotionPolicy = z.infer<typeof ZEmotionPolicy>;

export const ZScoreWeights = z.strictObject({
  answers: z.number().min(0).max(100).default(1),
  emotion: z.number().min(0).max(100).default(0),
  behavioral: z.number().min(0).max(100).default(0),
});

export const ZInterviewSettings = z.strictObject({
  language: z
    .string()
    .regex(/^[a-z]{2,3}(-[A-Z]{2})?$/, 'a language tag such as "en" or "en-GB"')
    .default('en'),
  deadline: ZInstant.nullable().default(null).describe('After this instant the interview can no longer be taken'),
  emotionPolicy: ZEmotionPolicy.default('off').describe("Narrows the organisation's policy, never widens it"),
  weights: ZScoreWeights.default({ answers: 1, emotion: 0, behavioral: 0 }),
});
export type TInterviewSettings = z.infer<typeof ZInterviewSettings>;

export const ZInterviewQuestionInput = z.strictObject({
  questionId: ZId,
  /** Pins this version; the question's newest version when omitted. */
  version: z.number().int().min(1).optional(),
  isPractice: z.boolean().default(false),
  prepSeconds: z.number().int().min(0).max(600).default(30),
  /** Defaults to the question's expected duration, else 120 s. */
  answerSeconds: z.number().int().min(10).max(3600).optional(),
  retakesAllowed: z.number().int().min(0).max(5).default(0),
});

const ZInterviewQuestionList = z
  .array(ZInterviewQuestionInput)
  .max(50)
  .refine((qs) => qs.filter((q) => q.isPractice).length <= 1, { message: 'At most one practice question' })
  .refine((qs) => qs.every((q, i) => !q.isPractice || i === 0), { message: 'The practice question comes first' });

export const ZCreateInterviewBody = z.strictObject({
  title: ZText(200),
  description: z.string().trim().max(5000).default(''),
  settings: ZInterviewSettings.default({
    language: 'en',
    deadline: null,
    emotionPolicy: 'off',
    weights: { answers: 1, emotion: 0, behavioral: 0 },
  }),
  questions: ZInterviewQuestionList.default([]),
});
export type TCreateInterviewBody = z.infer<typeof ZCreateInterviewBody>;

export const ZUpdateInterviewBody = z
  .strictObject({
    title: ZText(200).optional(),
    description: z.string().trim().max(5000).optional(),
    settings: ZInterviewSettings.optional(),
    questions: ZInterviewQuestionList.optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), { message: 'Nothing to change' });
export type TUpdateInterviewBody = z.infer<typeof ZUpdateInterviewBody>;

export const ZInterviewStatus = z.enum(['draft', 'published', 'archived']);

export const ZInterviewQuestion = z.object({
  position: z.number().int(),
  questionId: ZId,
  questionVersionId: ZId,
  version: z.number().int(),
  text: z.string(),
  isPractice: z.boolean(),
  prepSeconds: z.number().int(),
  answerSeconds: z.number().int(),
  retakesAllowed: z.number().int(),
});

export const ZInterview = z.object({
  id: ZId,
  title: z.string(),
  description: z.string(),
  status: ZInterviewStatus,
  settings: ZInterviewSettings,
  questions: z.array(ZInterviewQuestion),
  publishedAt: ZInstant.nullable(),
  archivedAt: ZInstant.nullable(),
  createdAt: ZInstant,
  updatedAt: ZInstant,
});
export type TInterview = z.infer<typeof ZInterview>;

export const ZInterviewSummary = ZInterview.omit({ questions: true }).extend({ questionCount: z.number().int() });

export const ZInterviewQuery = z.strictObject({
  status: ZInterviewStatus.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
});

// ---------------------------------------------------------------------------------------------
// Invitations

export const ZInviteCandidatesBody = z.strictObject({
  candidates: z
    .array(z.strictObject({ name: ZText(200), email: ZEmail }))
    .min(1)
    .max(100)
    .refine((cs) => new Set(cs.map((c) => c.email.toLowerCase())).size === cs.length, {
      message: 'Each e-mail address may appear once',
    }),
  /** Link validity; capped by the interview's deadline. */
  expiresInHours: z
    .number()
    .int()
    .min(1)
    .max(24 * 90)
    .optional(),
});
export type TInviteCandidatesBody = z.infer<typeof ZInviteCandidatesBody>;

export const ZInvitationStatus = z.enum(['pending', 'accepted', 'expired', 'revoked']);

export const ZCandidateInvitation = z.object({
  id: ZId,
  interviewId: ZId,
  sessionId: ZId.nullable(),
  name: z.string(),
  email: z.string(),
  status: ZInvitationStatus,
  expiresAt: ZInstant,
  /**
   * When the e-mail with the current link was delivered. Inviting and resending only queue it (a
   * worker sends it with retries), so it is null until then: "queued, not delivered yet".
   */
  sentAt: ZInstant.nullable(),
  /** When the last reminder was delivered; a reminder asked for is queued and shows here once sent. */
  remindedAt: ZInstant.nullable(),
  /**
   * When an e-mail for this invitation last failed for good: the mail server refused the address,
   * delivery was given up after its retries, or the request could not be queued. Null once an
   * e-mail of it (a resent link or a reminder) is delivered.
   */
  deliveryFailedAt: ZInstant.nullable(),
  /** Why, in a few words (e.g. the mail server's answer); null when `deliveryFailedAt` is. */
  deliveryFailure: z.string().nullable(),
  usedAt: ZInstant.nullable(),
  revokedAt: ZInstant.nullable(),
  createdAt: ZInstant,
});
export type TCandidateInvitation = z.infer<typeof ZCandidateInvitation>;

export const ZAcceptCandidateInvitationBody = z.strictObject({ token: z.string().min(16).max(512) });

export const ZAcceptCandidateInvitationResponse = z.object({ sessionId: ZId, tokens: ZTokenPair });

// ---------------------------------------------------------------------------------------------
// Sessions

export const ZSessionStatus = z.enum([
  'invited',
  'consented',
  'in_progress',
  'completed',
  'scoring',
  'scored',
  'expired',
  'abandoned',
]);
export type TSessionStatus = z.infer<typeof ZSessionStatus>;

export const ZConsentBody = z.strictObject({
  /** The candidate read the notice that an AI assists the evaluation. Required. */
  aiNotice: z.literal(true),
  /** Recording of audio/video answers; without it, answers are typed only. */
  recording: z.boolean(),
  /** Analysis of the video (face, expressions); declining it still allows the interview. */
  videoAnalysis: z.boolean(),
  /** Version of the notice text the candidate saw. */
  textVersion: z.string().trim().min(1).max(50),
});
export type TConsentBody = z.infer<typeof ZConsentBody>;

export const ZAttemptPhase = z.enum(['preparing', 'answering', 'closed', 'submitted']);

export const ZCurrentQuestion = z.object({
  position: z.number().int(),
  isPractice: z.boolean(),
  text: z.string(),
  prepSeconds: z.number().int(),
  answerSeconds: z.number().int(),
  retakesAllowed: z.number().int(),
  /** 1 for the first attempt; a retake adds one. */
  attempt: z.number().int(),
  phase: ZAttemptPhase,
  prepEndsAt: ZInstant,
  answerEndsAt: ZInstant,
  /** Milliseconds left by the server's clock; 0 once the phase is over. */
  prepRemainingMs: z.number().int(),
  answerRemainingMs: z.number().int(),
  hasText: z.boolean(),
  hasRecording: z.boolean(),
});

export const ZSessionView = z.object({
  id: ZId,
  interviewId: ZId,
  candidateId: ZId,
  status: ZSessionStatus,
  title: z.string(),
  language: z.string(),
  emotionPolicy: ZEmotionPolicy,
  consents: z.object({ aiNotice: z.boolean(), recording: z.boolean(), videoAnalysis: z.boolean() }),
  questionCount: z.number().int(),
  /** The question the candidate is on, once the session has started. */
  current: ZCurrentQuestion.nullable(),
  expiresAt: ZInstant.nullable(),
  startedAt: ZInstant.nullable(),
  completedAt: ZInstant.nullable(),
  serverTime: ZInstant,
});
export type TSessionView = z.infer<typeof ZSessionView>;

export const ZTextAnswerBody = z.strictObject({
  position: z.number().int().min(0),
  text: z.string().trim().min(1).max(20_000),
});

export const ZPositionBody = z.strictObject({ position: z.number().int().min(0) });

export const ZRecordingParams = z.strictObject({ id: ZId, position: z.coerce.number().int().min(0).max(1000) });

export const ZAnswer = z.object({
  id: ZId,
  position: z.number().int(),
  attempt: z.number().int(),
  isPractice: z.boolean(),
  questionVersionId: ZId,
  textAnswer: z.string().nullable(),
  mediaKey: z.string().nullable(),
  mediaContentType: z.string().nullable(),
  /** The recording's transcript, once the scoring pipeline has made it (null for typed answers). */
  transcript: z.string().nullable(),
  /** The engine that produced it: pocketsphinx, openai, … */
  transcriptSource: z.string().nullable(),
  submittedAt: ZInstant.nullable(),
});
export type TAnswer = z.infer<typeof ZAnswer>;

export const ZSessionSummary = z.object({
  id: ZId,
  interviewId: ZId,
  interviewTitle: z.string(),
  candidateId: ZId,
  candidateName: z.string(),
  candidateEmail: z.string(),
  status: ZSessionStatus,
  currentPosition: z.number().int(),
  expiresAt: ZInstant.nullable(),
  startedAt: ZInstant.nullable(),
  completedAt: ZInstant.nullable(),
  createdAt: ZInstant,
});
export type TSessionSummary = z.infer<typeof ZSessionSummary>;

export const ZSessionQuery = z.strictObject({
  status: ZSessionStatus.optional(),
  interviewId: ZId.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
});
export type TSessionQuery = z.infer<typeof ZSessionQuery>;

// ---------------------------------------------------------------------------------------------
// Broker events of this context (ids and storage keys only)

/** `interview.completed`: a candidate finished; scoring picks it up. */
export const ZInterviewCompletedEvent = z.object({
  orgId: ZId,
  sessionId: ZId,
  interviewId: ZId,
  completedAt: ZInstant,
});
export type TInterviewCompletedEvent = z.infer<typeof ZInterviewCompletedEvent>;

/** `interview.video.uploaded`: a full answer recording is stored. */
export const ZVideoUploadedEvent = z.object({
  orgId: ZId,
  sessionId: ZId,
  answerId: ZId,
  position: z.number().int(),
  attempt: z.number().int(),
  storageKey: z.string(),
  contentType: z.string(),
  sizeBytes: z.number().int(),
  /** Whether the candidate consented to video analysis; without it only the audio may be used. */
  videoAnalysis: z.boolean(),
});
export type TVideoUploadedEvent = z.infer<typeof ZVideoUploadedEvent>;
