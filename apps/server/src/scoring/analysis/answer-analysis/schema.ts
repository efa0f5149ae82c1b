import { ZCriterionAssessment } from '@parley/contracts';
import { z } from 'zod';

/** What the model must return for one answer. Overall score and provenance are added by us. */
export const ZAnswerAnalysisOutput = z.object({
  criteria: z
    .array(
      ZCriterionAssessment.extend({
        score: z
          .number()
          .int()
          .min(0)
          .max(5)
          .describe('0 = not addressed at all, 1–5 as described by the rubric anchors'),
      }),
    )
    .min(1)
    .describe('One entry per rubric criterion, in rubric order'),
  strengths: z.array(z.string().min(1).max(300)).max(5).describe('What the answer does well, short phrases'),
  gaps: z.array(z.string().min(1).max(300)).max(5).describe('What is missing or wrong compared with the ideal answer'),
  followUpQuestion: z
    .string()
    .min(1)
    .max(500)
    .describe('One question the interviewer could ask next to probe the biggest gap'),
});
export type TAnswerAnalysisOutput = z.infer<typeof ZAnswerAnalysisOutput>;

// Keywords that OpenAI's strict structured-output mode rejects; zod still enforces them afterwards.
const UNSUPPORTED = new Set(['$schema', 'minLength', 'maxLength']);

function strip(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strip);
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(Object.entries(node).flatMap(([k, v]) => (UNSUPPORTED.has(k) ? [] : [[k, strip(v)]])));
}

/** The JSON Schema sent to the providers (every property required, no additional properties). */
export const ANSWER_ANALYSIS_JSON_SCHEMA = strip(z.toJSONSchema(ZAnswerAnalysisOutput)) as Record<string, unknown>;
