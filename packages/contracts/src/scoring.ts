import { z } from 'zod';

/**
 * Anchor levels a rubric may describe (0 = not addressed … 5 = excellent); a criterion needs at
 * least two of them. The question bank's rubrics may describe level 0 too.
 */
export const ANCHOR_LEVELS = ['0', '1', '2', '3', '4', '5'] as const;

export const ZRubricCriterion = z.object({
  key: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .describe("The question bank's stable identifier of the criterion; scores are stored under it"),
  name: z.string().trim().min(1).max(200).describe('Name of the criterion, unique within the rubric'),
  weight: z.number().positive().max(100).default(1).describe('Relative weight of the criterion in the overall score'),
  anchors: z
    .partialRecord(z.enum(ANCHOR_LEVELS), z.string().trim().min(1).max(2000))
    .refine((a) => Object.keys(a).length >= 2, 'describe at least two anchor levels')
    .describe('What an answer at each level (1 = poor … 5 = excellent) looks like'),
});
export type TRubricCriterion = z.infer<typeof ZRubricCriterion>;

/** How one question's answers are judged. `version` is hashed from the content when absent. */
export const ZRubric = z
  .object({
    version: z.string().trim().min(1).max(100).optional().describe('Author-chosen version of this rubric'),
    criteria: z.array(ZRubricCriterion).min(1).max(20),
    idealAnswer: z
      .string()
      .trim()
      .max(10_000)
      .default('')
      .describe('A model answer written by the recruiter; empty when the recruiter gave none'),
    keyConcepts: z.array(z.string().trim().min(1).max(200)).max(50).default([]),
  })
  .refine((r) => new Set(r.criteria.map((c) => c.name.toLowerCase())).size === r.criteria.length, {
    message: 'criterion names must be unique',
    path: ['criteria'],
  });
export type TRubric = z.infer<typeof ZRubric>;
export type TRubricInput = z.input<typeof ZRubric>;

export const ZCriterionAssessment = z.object({
  criterion: z.string().min(1).max(200).describe('The rubric criterion name, spelled exactly as in the rubric'),
  score: z.number().min(0).max(5).describe('0 = not addressed at all, 1–5 as described by the rubric anchors'),
  evidence: z
    .array(z.string().min(1).max(500))
    .max(3)
    .describe('Verbatim quotes from the transcript that justify the score; empty only when nothing applies'),
  rationale: z
    .string()
    .min(1)
    .max(300)
    .regex(/^[^\n\r]*$/, 'one line')
    .describe('One sentence explaining the score with reference to the anchors'),
});
export type TCriterionAssessment = z.infer<typeof ZCriterionAssessment>;

/** Where a score came from, so it can be reproduced. */
export const ZAnalysisProvenance = z.object({
  provider: z.enum(['openai', 'anthropic', 'offline']),
  model: z.string().min(1),
  promptVersion: z.string().min(1),
  rubricVersion: z.string().min(1),
});
export type TAnalysisProvenance = z.infer<typeof ZAnalysisProvenance>;

/** The analysis of one answer, as stored and as shown to the recruiter. */
export const ZAnswerAnalysis = z.object({
  criteria: z.array(ZCriterionAssessment).min(1),
  overall: z.number().min(0).max(5).describe('Weighted mean of the criterion scores'),
  strengths: z.array(z.string().min(1).max(300)).max(5),
  gaps: z.array(z.string().min(1).max(300)).max(5),
  followUpQuestion: z.string().min(1).max(500),
  provenance: ZAnalysisProvenance,
});
export type TAnswerAnalysis = z.infer<typeof ZAnswerAnalysis>;

/**
 * `interview.scored`: a session has its final score; the report job prints its report, and the
 * "report ready" e-mail follows the print (`report.rendered`). Ids only.
 */
export const ZInterviewScoredEvent = z.object({
  orgId: z.uuid(),
  sessionId: z.uuid(),
  interviewId: z.uuid(),
  /** Final score 0–5; null when nothing could be scored (every answer needs review). */
  overall: z.number().min(0).max(5).nullable(),
  scoredAt: z.iso.datetime(),
});
export type TInterviewScoredEvent = z.infer<typeof ZInterviewScoredEvent>;

/**
 * `report.render.requested`: a session's report changed (or its PDF was asked for and is not
 * stored): a worker prints the current report to HTML and PDF. Ids only.
 */
export const ZReportRenderRequestedEvent = z.object({
  orgId: z.uuid(),
  sessionId: z.uuid(),
});
export type TReportRenderRequestedEvent = z.infer<typeof ZReportRenderRequestedEvent>;

/** Routing key of `ZReportRenderedEvent`; the workers' `notification.email` queue is bound to it. */
export const REPORT_RENDERED = 'report.rendered';

/**
 * `report.rendered`: the report job has finished with a session's current report. Published after
 * every print that stored a PDF (again after a re-print, e.g. after a score override, and on a
 * redelivery), and once when printing failed on its last attempt. Ids only.
 */
export const ZReportRenderedEvent = z.object({
  orgId: z.uuid(),
  sessionId: z.uuid(),
  /**
   * `ready`: a PDF of the current report is stored. `failed`: it could not be printed; the report
   * is still readable in the web app, and the PDF is tried again when it is next asked for.
   */
  pdf: z.enum(['ready', 'failed']),
});
export type TReportRenderedEvent = z.infer<typeof ZReportRenderedEvent>;

/**
 * The `202` body of `GET /api/sessions/:id/report.pdf`: no PDF of the current report is stored
 * yet; a worker is printing it. Ask again after `retryAfterSeconds` (also sent as `Retry-After`).
 */
export const ZReportRendering = z.object({
  status: z.literal('rendering'),
  retryAfterSeconds: z.number().int().positive(),
  message: z.string(),
});
export type TReportRendering = z.infer<typeof ZReportRendering>;

// ---------------------------------------------------------------------------------------------
// LLM provider keys (admin)

export const ZLlmKeyProvider = z.enum(['openai', 'anthropic']);

export const ZAddLlmKeyBody = z.strictObject({
  provider: ZLlmKeyProvider,
  key: z.string().trim().min(8).max(500).describe('The provider API key; stored encrypted, never shown again'),
  label: z.string().trim().max(100).default(''),
  baseUrl: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe('For OpenAI-compatible servers and proxies'),
  model: z.string().trim().min(1).max(200).optional().describe("Overrides the server's default model for this key"),
  priority: z.number().int().min(0).max(100).default(0).describe('Lower is tried first; equal priorities rotate'),
  rateLimitPerMin: z.number().int().min(1).max(1_000_000).nullable().default(null),
});
export type TAddLlmKeyBody = z.infer<typeof ZAddLlmKeyBody>;

/** A key as admins see it: the last four characters and a fingerprint, never the key. */
export const ZLlmKey = z.object({
  id: z.uuid(),
  provider: z.string(),
  label: z.string(),
  baseUrl: z.string().nullable(),
  model: z.string().nullable(),
  masked: z.string().describe('"••••" and the last four characters'),
  fingerprint: z.string(),
  isActive: z.boolean(),
  priority: z.number().int(),
  rateLimitPerMin: z.number().int().nullable(),
  usageCount: z.number().int(),
  failureCount: z.number().int(),
  consecutiveFailures: z.number().int(),
  lastUsedAt: z.iso.datetime().nullable(),
  lastFailureAt: z.iso.datetime().nullable(),
  lastError: z.string().nullable(),
  disabledUntil: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
});
export type TLlmKey = z.infer<typeof ZLlmKey>;

// ---------------------------------------------------------------------------------------------
// Recruiter report

/** A human correction of one score; the original stays beside it. */
export const ZScoreOverride = z.object({
  score: z.number(),
  reason: z.string(),
  by: z.uuid().nullable(),
  at: z.iso.datetime(),
});

/** Which final score a rubric criterion feeds (the rule: `criterionArea` in the scoring context). */
export const ZCriterionArea = z.enum(['technical', 'communication']);
export type TCriterionArea = z.infer<typeof ZCriterionArea>;

export const ZReportCriterion = z.object({
  scoreId: z.uuid(),
  key: z.string(),
  name: z.string(),
  weight: z.number(),
  area: ZCriterionArea,
  /** What the analyzer gave, 0–5. */
  score: z.number(),
  /** The override when there is one, else `score`. */
  effectiveScore: z.number(),
  evidence: z.array(z.string()).describe('Verbatim quotes from the transcript'),
  rationale: z.string(),
  override: ZScoreOverride.nullable(),
});

export const ZReportQuestion = z.object({
  position: z.number().int(),
  question: z.string(),
  status: z.enum(['scored', 'not_answered', 'untranscribed', 'pending']),
  /** Why the answer needs a human (e.g. a recording that could not be transcribed). */
  note: z.string().nullable(),
  transcript: z.string().nullable(),
  transcriptSource: z.string().nullable(),
  score: z.number().nullable(),
  effectiveScore: z.number().nullable(),
  criteria: z.array(ZReportCriterion),
  strengths: z.array(z.string()),
  gaps: z.array(z.string()),
  followUpQuestion: z.string().nullable(),
  delivery: z.record(z.string(), z.unknown()).nullable().describe('Pace, pauses and fillers from word timings'),
  provenance: z
    .object({
      provider: z.string(),
      model: z.string(),
      promptVersion: z.string(),
      rubricVersion: z.string(),
      questionVersionId: z.uuid().nullable(),
    })
    .nullable(),
});

export const ZEmotionReport = z.object({
  /** True only under a `scored` policy with the candidate's consent. */
  countsTowardScore: z.boolean(),
  frames: z.number().int(),
  durationMs: z.number(),
  facePresent: z.number(),
  severalFaces: z.number(),
  lookingAway: z.number(),
  expressionStability: z.number(),
  blinksPerMinute: z.number(),
  expressions: z.record(z.string(), z.number()),
  timeline: z.array(
    z.object({ atMs: z.number(), blinks: z.number(), facePresent: z.number(), dominant: z.string().nullable() }),
  ),
  integrityEvents: z.array(
    z.object({
      kind: z.enum(['no_face', 'several_faces', 'looking_away']),
      startMs: z.number(),
      endMs: z.number(),
      frames: z.number().int(),
    }),
  ),
});

/**
 * A session's final scores, each 0–5. A part that does not count (emotion without a `scored`
 * policy and consent; communication with no communication criterion and no delivery figures) is
 * absent, never 0. `weights` are the weights each part carried in `overall`.
 */
export const ZFinalScores = z.object({
  technical: z.number().optional(),
  communication: z.number().optional(),
  emotion: z.number().optional(),
  overall: z.number().nullable(),
  weights: z.object({ technical: z.number(), communication: z.number(), emotion: z.number() }),
  components: z.object({
    communicationCriteria: z.number().optional().describe('Mean of the communication criterion scores'),
    delivery: z.number().optional().describe('Pace, pauses and fillers from word timings'),
    technicalShare: z.number().describe("Share of the rubrics' weight on technical criteria, 0–1"),
  }),
});
export type TFinalScores = z.infer<typeof ZFinalScores>;

export const ZSessionReport = z.object({
  sessionId: z.uuid(),
  interviewId: z.uuid(),
  interviewTitle: z.string(),
  candidate: z.object({ id: z.uuid(), name: z.string(), email: z.string() }),
  status: z.string(),
  completedAt: z.iso.datetime().nullable(),
  scoredAt: z.iso.datetime().nullable(),
  /** 0–5 as first computed, and with the recruiter's overrides applied. Null until scored. */
  overall: z.number().nullable(),
  effectiveOverall: z.number().nullable(),
  parts: z.object({
    answers: z.number().optional(),
    emotion: z.number().optional(),
    behavioral: z.number().optional(),
  }),
  weights: z.object({ answers: z.number(), emotion: z.number(), behavioral: z.number() }),
  /** Technical, communication, emotion and overall, with the recruiter's overrides applied. Null until scored. */
  final: ZFinalScores.nullable(),
  emotionPolicy: z.string(),
  questions: z.array(ZReportQuestion),
  strengths: z.array(z.string()),
  gaps: z.array(z.string()),
  /** Shown apart from the score; null when the policy is `off` or the candidate declined. */
  emotion: ZEmotionReport.nullable(),
  provenance: z.array(z.object({ provider: z.string(), model: z.string(), promptVersion: z.string() })),
  formulas: z.record(z.string(), z.string()).describe('How each score is computed, for the appendix'),
});
export type TSessionReport = z.infer<typeof ZSessionReport>;

export const ZOverrideScoreBody = z.strictObject({
  score: z.number().min(0).max(5),
  reason: z.string().trim().min(3).max(1000),
});
export type TOverrideScoreBody = z.infer<typeof ZOverrideScoreBody>;

// ---------------------------------------------------------------------------------------------
// Candidate feedback

/**
 * What a candidate may read about their interview once a recruiter released it: strengths and
 * areas to grow, never a score.
 */
export const ZCandidateFeedback = z.object({
  sessionId: z.uuid(),
  interviewTitle: z.string(),
  /** Null while not released (only staff see it then). */
  releasedAt: z.iso.datetime().nullable(),
  strengths: z.array(z.string()),
  areasToGrow: z.array(z.string()),
  questions: z.array(
    z.object({
      position: z.number().int(),
      question: z.string(),
      strengths: z.array(z.string()),
      areasToGrow: z.array(z.string()),
    }),
  ),
});
export type TCandidateFeedback = z.infer<typeof ZCandidateFeedback>;
