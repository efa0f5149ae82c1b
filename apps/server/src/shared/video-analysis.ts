import { and, desc, eq } from 'drizzle-orm';
import type { Db } from '../infra/db/database.ts';
import { consents, type EmotionPolicy } from '../infra/db/schema.ts';

const POLICY_ORDER: readonly EmotionPolicy[] = ['off', 'insights', 'scored'];

/**
 * The policy that applies to a session: the stricter of the organisation's current one and the
 * session's snapshot (`off` < `insights` < `scored`), so a session can narrow it, never widen it.
 * The realtime intake and the emotion consumer both use this rule: a frame accepted is a frame analysed.
 */
export function effectiveEmotionPolicy(
  org: EmotionPolicy | undefined,
  session: EmotionPolicy | undefined,
): EmotionPolicy {
  const orgPolicy = org ?? 'insights';
  const sessionPolicy = session ?? orgPolicy;
  return POLICY_ORDER[Math.min(POLICY_ORDER.indexOf(orgPolicy), POLICY_ORDER.indexOf(sessionPolicy))] ?? 'off';
}

/** The candidate's newest `video_analysis` consent is a grant (consents are append-only). */
export async function videoAnalysisConsented(db: Db, orgId: string, sessionId: string): Promise<boolean> {
  const [consent] = await db
    .select({ granted: consents.granted })
    .from(consents)
    .where(and(eq(consents.orgId, orgId), eq(consents.sessionId, sessionId), eq(consents.kind, 'video_analysis')))
    .orderBy(desc(consents.recordedAt))
    .limit(1);
  return consent?.granted === true;
}
