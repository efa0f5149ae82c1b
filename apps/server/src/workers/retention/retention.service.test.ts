import { and, eq, sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  answerMedia,
  answers,
  auditLog,
  frames,
  interviewSessions,
  invitations,
  users,
} from '../../infra/db/schema.ts';
import {
  createCandidateSession,
  createInterview,
  createCandidateWithMedia,
  createInvitation,
  createOrg,
  embeddedFixtures,
  silentLogger,
  type Fixtures,
} from '../testing/worker-fixtures.ts';
import { RetentionService } from './retention.service.ts';

let f: Fixtures;
let clock: Date;
let retention: RetentionService;
const DAY = 24 * 3600_000;
const ago = (days: number) => new Date(clock.getTime() - days * DAY);
const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);

beforeEach(async () => {
  f = await embeddedFixtures();
  clock = new Date('2027-06-01T12:00:00Z');
  retention = new RetentionService({
    database: f.database,
    storage: f.storage,
    logger: silentLogger(),
    clock: () => clock,
  });
});
afterEach(() => f.close());

const candidateWithData = (orgId: string, interviewId: string, questionVersionId: string, when: Date) =>
  createCandidateWithMedia(f.database, f.storage, { orgId, interviewId, questionVersionId, when });

async function world(settings: Record<string, unknown>) {
  const org = await createOrg(f.database, settings);
  const iv = await createInterview(f.database, org.orgId, org.recruiterId);
  return { ...org, ...iv };
}

const count = async (
  table: typeof frames | typeof users | typeof interviewSessions | typeof invitations,
  where: ReturnType<typeof eq>,
) =>
  (
    await f.database.primary
      .select({ n: sql<number>`count(*)::int` })
      .from(table)
      .where(where)
  )[0]!.n;

describe('retention by organisation policy', () => {
  it('deletes raw frames after N days and recordings after M days, keeps newer data, and audits it', async () => {
    const w = await world({ retentionDays: 365, frameRetentionDays: 7, recordingRetentionDays: 30 });
    const old = await candidateWithData(w.orgId, w.interviewId, w.questionVersionId, ago(40));
    const mid = await candidateWithData(w.orgId, w.interviewId, w.questionVersionId, ago(10));
    const fresh = await candidateWithData(w.orgId, w.interviewId, w.questionVersionId, ago(1));

    const report = await retention.sweep();
    const org = report.orgs.find((o) => o.orgId === w.orgId)!;
    expect(org).toMatchObject({ recordings: 1, frames: 2, extractedFrameSets: 1, sessions: 0 });

    // Old: recording and derived files gone, in storage and in the rows.
    for (const k of [old.event.storageKey, `${old.base}video.mp4`, `${old.base}frames/00001.jpg`, old.frameKey]) {
      expect(await f.storage.exists(k)).toBe(false);
    }
    const [oldAnswer] = await f.database.primary.select().from(answers).where(eq(answers.id, old.event.answerId));
    expect(oldAnswer!.mediaKey).toBeNull();
    const [oldMedia] = await f.database.primary
      .select()
      .from(answerMedia)
      .where(eq(answerMedia.answerId, old.event.answerId));
    expect(oldMedia).toMatchObject({ videoKey: null, framesPrefix: null, frameCount: 0 });
    expect(oldMedia!.recordingDeletedAt).not.toBeNull();
    // Middle: frames gone, recording kept.
    expect(await f.storage.exists(mid.frameKey)).toBe(false);
    expect(await f.storage.list(`${mid.base}frames/`)).toEqual([]);
    expect(await f.storage.exists(mid.event.storageKey)).toBe(true);
    expect(await f.storage.exists(`${mid.base}video.mp4`)).toBe(true);
    // Fresh: everything kept.
    expect(await f.storage.exists(fresh.frameKey)).toBe(true);
    expect(await f.storage.list(`${fresh.base}frames/`)).toHaveLength(2);
    expect(await count(frames, eq(frames.sessionId, fresh.sessionId))).toBe(1);

    const audit = await f.database.primary
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.orgId, w.orgId), eq(auditLog.action, 'retention.sweep')));
    expect(audit).toHaveLength(1);
    expect(audit[0]!.metadata).toMatchObject({ recordings: 1, frames: 2, verified: true });

    // A second sweep finds nothing more.
    const again = (await retention.sweep()).orgs.find((o) => o.orgId === w.orgId)!;
    expect(again.objects).toEqual([]);
  });

  it('deletes whole sessions past retentionDays', async () => {
    const w = await world({ retentionDays: 90 });
    const old = await candidateWithData(w.orgId, w.interviewId, w.questionVersionId, ago(100));
    await retention.sweep({ orgId: w.orgId });
    expect(await count(interviewSessions, eq(interviewSessions.id, old.sessionId))).toBe(0);
    expect(await f.storage.list(`orgs/${w.orgId}/sessions/${old.sessionId}/`)).toEqual([]);
  });

  it('in a dry run lists what would go and deletes nothing', async () => {
    const w = await world({ frameRetentionDays: 7, recordingRetentionDays: 30 });
    const old = await candidateWithData(w.orgId, w.interviewId, w.questionVersionId, ago(40));
    const before = await f.storage.list('orgs/');
    const report = await retention.sweep({ dryRun: true });
    const org = report.orgs.find((o) => o.orgId === w.orgId)!;
    expect(org.objects).toContain(old.event.storageKey);
    expect(org.objects).toContain(old.frameKey);
    expect(await f.storage.list('orgs/')).toEqual(before);
    expect(await count(frames, eq(frames.sessionId, old.sessionId))).toBe(1);
    expect(await f.database.primary.select().from(auditLog).where(eq(auditLog.orgId, w.orgId))).toEqual([]);
  });
});

describe('right to erasure', () => {
  it("erases one candidate's sessions, media, invitations and account, and nobody else's", async () => {
    const w = await world({});
    const gone = await candidateWithData(w.orgId, w.interviewId, w.questionVersionId, ago(2));
    const kept = await candidateWithData(w.orgId, w.interviewId, w.questionVersionId, ago(2));
    await createInvitation(f.database, { ...w, email: gone.email, expiresAt: ago(-3), sessionId: gone.sessionId });
    await createInvitation(f.database, { ...w, email: kept.email, expiresAt: ago(-3), sessionId: kept.sessionId });

    const dry = await retention.eraseCandidate({ orgId: w.orgId, candidateId: gone.candidateId, dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, sessions: [gone.sessionId], invitations: 1, verified: false });
    expect(await f.storage.exists(gone.event.storageKey)).toBe(true);

    const report = await retention.eraseCandidate({
      orgId: w.orgId,
      candidateId: gone.candidateId,
      requestedBy: w.recruiterId,
    });
    expect(report).toMatchObject({ verified: true, invitations: 1 });
    expect(report.objects).toHaveLength(7);
    expect(await f.storage.list(`orgs/${w.orgId}/sessions/${gone.sessionId}/`)).toEqual([]);
    expect(await count(users, eq(users.id, gone.candidateId))).toBe(0);
    expect(await count(interviewSessions, eq(interviewSessions.candidateId, gone.candidateId))).toBe(0);
    expect(await count(invitations, sql`lower(${invitations.email}) = ${gone.email}`)).toBe(0);
    expect(await count(frames, eq(frames.sessionId, gone.sessionId))).toBe(0);

    expect(await f.storage.list(`orgs/${w.orgId}/sessions/${kept.sessionId}/`)).toHaveLength(7);
    expect(await count(users, eq(users.id, kept.candidateId))).toBe(1);

    const [audit] = await f.database.primary.select().from(auditLog).where(eq(auditLog.action, 'candidate.erased'));
    expect(audit).toMatchObject({ orgId: w.orgId, actorId: w.recruiterId, targetId: gone.candidateId });
    expect(audit!.metadata).toMatchObject({ sessions: 1, objects: 7, verified: true });
  });
});

describe('housekeeping', () => {
  it('closes open sessions past their expiry and leaves the rest', async () => {
    const w = await world({});
    const late = await createCandidateSession(f.database, { ...w, status: 'invited', expiresAt: ago(1) });
    const running = await createCandidateSession(f.database, { ...w, status: 'in_progress', expiresAt: ago(1) });
    const valid = await createCandidateSession(f.database, { ...w, status: 'invited', expiresAt: ago(-1) });
    const done = await createCandidateSession(f.database, { ...w, status: 'completed', expiresAt: ago(1) });

    expect((await retention.expireSessions({ dryRun: true })).sessions).toHaveLength(2);
    const r = await retention.expireSessions();
    expect(r.sessions.map((s) => s.sessionId).sort()).toEqual([late.sessionId, running.sessionId].sort());
    const status = async (id: string) =>
      (await f.database.primary.select().from(interviewSessions).where(eq(interviewSessions.id, id)))[0]!.status;
    expect(await status(late.sessionId)).toBe('expired');
    expect(await status(running.sessionId)).toBe('expired');
    expect(await status(valid.sessionId)).toBe('invited');
    expect(await status(done.sessionId)).toBe('completed');
    expect(await f.database.primary.select().from(auditLog).where(eq(auditLog.action, 'session.expired'))).toHaveLength(
      1,
    );
  });

  it('removes an unreferenced object only after it has stayed unreferenced past the grace period', async () => {
    const w = await world({});
    const s = await candidateWithData(w.orgId, w.interviewId, w.questionVersionId, ago(1));
    const orphan = `orgs/${w.orgId}/sessions/${s.sessionId}/answers/9-1.webm`;
    await f.storage.put(orphan, jpeg, 'video/webm');
    const grace = 3600_000;

    const first = await retention.sweepOrphans({ graceMs: grace });
    expect(first).toMatchObject({ deleted: [], pending: [orphan] });
    expect(await f.storage.exists(orphan)).toBe(true);

    clock = new Date(clock.getTime() + 2 * grace);
    expect((await retention.sweepOrphans({ graceMs: grace, dryRun: true })).deleted).toEqual([orphan]);
    expect(await f.storage.exists(orphan)).toBe(true);
    const second = await retention.sweepOrphans({ graceMs: grace });
    expect(second.deleted).toEqual([orphan]);
    expect(await f.storage.exists(orphan)).toBe(false);
    // Every referenced object (recording, derived files, extracted and stream frames) is still there.
    expect(await f.storage.list(`orgs/${w.orgId}/sessions/${s.sessionId}/`)).toHaveLength(7);
    expect(
      await f.database.primary.select().from(auditLog).where(eq(auditLog.action, 'storage.orphans.deleted')),
    ).toHaveLength(1);
  });
});
