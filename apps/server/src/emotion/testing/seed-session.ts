import { randomUUID } from 'node:crypto';
import type { Db } from '../../infra/db/database.ts';
import { consents, interviews, interviewSessions, organizations, users } from '../../infra/db/schema.ts';

/**
 * A session as the interview context leaves it when frames start to flow: an organisation, a
 * candidate, an interview, an in-progress session (or a consented one, at the device check) and (unless told otherwise) a granted
 * `video_analysis` consent. Written with real inserts, so every constraint applies.
 */
export async function seedAnalysableSession(
  db: Db,
  opts: { consent?: boolean; orgPolicy?: 'off' | 'insights' | 'scored'; status?: 'consented' | 'in_progress' } = {},
): Promise<{ orgId: string; sessionId: string }> {
  const [org] = await db
    .insert(organizations)
    .values({ name: 'Acme', settings: { emotionPolicy: opts.orgPolicy ?? 'insights', retentionDays: 30 } })
    .returning();
  const orgId = org!.id;
  const [candidate] = await db
    .insert(users)
    .values({ orgId, email: `${randomUUID()}@example.com`, role: 'candidate' })
    .returning();
  const [interview] = await db.insert(interviews).values({ orgId, title: 'Backend engineer' }).returning();
  const [session] = await db
    .insert(interviewSessions)
    .values({ orgId, interviewId: interview!.id, candidateId: candidate!.id, status: opts.status ?? 'in_progress' })
    .returning();
  if (opts.consent !== false) {
    await db
      .insert(consents)
      .values({ orgId, sessionId: session!.id, kind: 'video_analysis', granted: true, textVersion: 'v1' });
  }
  return { orgId, sessionId: session!.id };
}
