import { z } from 'zod';

export const ZHealth = z.object({ status: z.literal('ok') });

export const ZReadinessCheck = z.object({
  name: z.string(),
  ok: z.boolean(),
  latencyMs: z.number(),
  error: z.string().optional(),
});

export const ZReadiness = z.object({
  status: z.enum(['ready', 'not_ready']),
  roles: z.array(z.string()),
  checks: z.array(ZReadinessCheck),
});
export type TReadiness = z.infer<typeof ZReadiness>;
