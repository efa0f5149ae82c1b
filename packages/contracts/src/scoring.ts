import { z } from 'zod';

/** Anchor levels a rubric may describe; a criterion needs at least two of them. */
export const ANCHOR_LEVELS = ['1', '2', '3', '4', '5'] as const;

export const ZRubricCriterion = z.object({
  name: z.string().trim().min(1).max(120).describe('Name of the criterion, unique within the rubric'),
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
    idealAnswer: z.string().trim().min(1).max(10_000).describe('A model answer written by the recruiter'),
    keyConcepts: z.array(z.string().trim().min(1).max(200)).max(50).default([]),
  })
  .refine((r) => new Set(r.criteria.map((c) => c.name.toLowerCase())).size === r.criteria.length, {
    message: 'criterion names must be unique',
    path: ['criteria'],
  });
export type TRubric = z.infer<typeof ZRubric>;
export type TRubricInput = z.input<typeof ZRubric>;

export const ZCriterionAssessment = z.object({
  criterion: z.string().min(1).max(120).describe('The rubric criterion name, spelled exactly as in the rubric'),
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
