// Real tier: the maintenance jobs consumed from RabbitMQ, deleting from PostgreSQL and from S3
// (Swift's s3api, client-side encrypted). Every deletion is checked in both and in the audit log.
import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AmqpBroker } from '../../infra/broker/amqp-broker.ts';
import {
  answerMedia,
  answers,
  auditLog,
  frames,
  interviewSessions,
  processedMessages,
  reports,
  users,
} from '../../infra/db/schema.ts';
import { MAINTENANCE_KEYS, requestCandidateErasure, startWorkers } from '../index.ts';
import { realWorkerFixtures, type RealWorkerFixtures } from '../testing/real-worker-fixtures.ts';
import {
  createCandidateWithMedia,
  createInterview,
  createOrg,
  eventually,
  silentLogger,
} from '../testing/worker-fixtures.ts';

let real: RealWorkerFixtures;
let publisher: AmqpBroker;
let workers: { stop(): Promise<void> } | undefined;
const DAY = 24 * 3600_000;
const ago = (days: number) => new Date(Date.now() - days * DAY);

beforeAll(async () => {
  real = await realWorkerFixtures('retention');
  publisher = await real.connect('retention-test-publisher');
  workers = await startWorkers(
    {
      config: { server: { publicUrl: 'https://parley.test' } as never },
      reports: null,
      database: real.database,
      storage: real.storage,
      broker: await real.connect('retention-test-workers'),
      mail: { send: () => Promise.reject(new Error('no mail here')), ping: async () => {}, close: async () => {} },
      logger: silentLogger(),
    },
    { maintenanceIntervalMs: null },
  );
});
afterAll(async () => {
  await workers?.stop();
  await real?.close();
});

/** Publishes a maintenance job and waits until the worker has marked it done. */
async function runJob(key: string, payload: object): Promise<void> {
  const messageId = `${key}:${randomUUID()}`;
  await publisher.publish(key, payload, { messageId });
  await eventually(`${key} to finish`, async () => {
    const rows = await real.database.primary
      .select()
      .from(processedMessages)
      .where(and(eq(processedMessages.consumer, 'worker.maintenance'), eq(processedMessages.messageId, messageId)));
    return rows.length > 0;
  });
}

async function world(settings: Record<string, unknown>) {
  const org = await createOrg(real.database, settings);
  const iv = await createInterview(real.database, org.orgId, org.recruiterId);
  const candidate = (days: number) =>
    createCandidateWithMedia(real.database, real.storage, { ...org, ...iv, when: ago(days) });
  return { ...org, ...iv, candidate };
}

const audits = (orgId: string, action: string) =>
  real.database.primary
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.orgId, orgId), eq(auditLog.action, action)));

describe('retention on RabbitMQ, PostgreSQL and S3', () => {
  it('a dry run deletes nothing; the sweep then deletes frames after N days and recordings after M days, and audits it', async () => {
    const w = await world({ retentionDays: 365, frameRetentionDays: 7, recordingRetentionDays: 30 });
    const old = await w.candidate(40);
    const mid = await w.candidate(10);
    const fresh = await w.candidate(1);
    const before = await real.storage.list(`orgs/${w.orgId}/`);
    expect(before).toHaveLength(21);

    await runJob(MAINTENANCE_KEYS.retentionSweep, { orgId: w.orgId, dryRun: true });
    expect(await real.storage.list(`orgs/${w.orgId}/`)).toEqual(before);
    expect(await audits(w.orgId, 'retention.sweep')).toEqual([]);

    await runJob(MAINTENANCE_KEYS.retentionSweep, { orgId: w.orgId });
    // Old: the recording, its derived files and every frame, gone from S3 and from the rows.
    expect(await real.storage.list(`orgs/${w.orgId}/sessions/${old.sessionId}/`)).toEqual([]);
    const [oldAnswer] = await real.database.primary.select().from(answers).where(eq(answers.id, old.event.answerId));
    expect(oldAnswer!.mediaKey).toBeNull();
    const [oldMedia] = await real.database.primary
      .select()
      .from(answerMedia)
      .where(eq(answerMedia.answerId, old.event.answerId));
    expect(oldMedia).toMatchObject({ videoKey: null, posterKey: null, audioKey: null, framesPrefix: null });
    expect(oldMedia!.recordingDeletedAt).not.toBeNull();
    // Middle: frames gone, the recording and its MP4 kept.
    expect((await real.storage.list(`orgs/${w.orgId}/sessions/${mid.sessionId}/`)).sort()).toEqual(
      [mid.event.storageKey, `${mid.base}audio.wav`, `${mid.base}poster.jpg`, `${mid.base}video.mp4`].sort(),
    );
    expect(await real.database.primary.select().from(frames).where(eq(frames.sessionId, mid.sessionId))).toEqual([]);
    // Fresh: everything kept.
    expect(await real.storage.list(`orgs/${w.orgId}/sessions/${fresh.sessionId}/`)).toHaveLength(7);

    const [audit] = await audits(w.orgId, 'retention.sweep');
    expect(audit!.metadata).toMatchObject({ recordings: 1, frames: 2, extractedFrameSets: 1, verified: true });
  });

  it("erases one candidate's rows and S3 objects (with the stored report) on request, once, and nobody else's", async () => {
    const w = await world({});
    const gone = await w.candidate(2);
    const kept = await w.candidate(2);
    const reportKey = `orgs/${w.orgId}/sessions/${gone.sessionId}/reports/report-${'a'.repeat(32)}.pdf`;
    await real.storage.put(reportKey, new TextEncoder().encode('%PDF-1.7'), 'application/pdf');
    await real.database.primary
      .insert(reports)
      .values({ orgId: w.orgId, sessionId: gone.sessionId, kind: 'pdf', status: 'ready', storageKey: reportKey });

    const request = { orgId: w.orgId, candidateId: gone.candidateId, requestedBy: w.recruiterId };
    await requestCandidateErasure(publisher, request);
    await eventually('the erasure', async () => (await audits(w.orgId, 'candidate.erased')).length > 0);
    expect(await real.storage.list(`orgs/${w.orgId}/sessions/${gone.sessionId}/`)).toEqual([]);
    expect(await real.storage.exists(reportKey)).toBe(false);
    const [left] = await real.database.primary
      .select({ n: sql<number>`count(*)::int` })
      .from(interviewSessions)
      .where(eq(interviewSessions.candidateId, gone.candidateId));
    expect(left!.n).toBe(0);
    expect(await real.database.primary.select().from(users).where(eq(users.id, gone.candidateId))).toEqual([]);
    expect(await real.database.primary.select().from(reports).where(eq(reports.sessionId, gone.sessionId))).toEqual([]);
    expect(await real.storage.list(`orgs/${w.orgId}/sessions/${kept.sessionId}/`)).toHaveLength(7);

    // The same request again (its id is the candidate's) changes nothing; a later job on the queue
    // finishing shows it was taken.
    await requestCandidateErasure(publisher, request);
    await runJob(MAINTENANCE_KEYS.expireSessions, {});
    const erased = await audits(w.orgId, 'candidate.erased');
    expect(erased).toHaveLength(1);
    expect(erased[0]).toMatchObject({ actorId: w.recruiterId, targetId: gone.candidateId });
    expect(erased[0]!.metadata).toMatchObject({ sessions: 1, objects: 8, verified: true });
  });

  it('deletes an S3 object no row references once it has stayed unreferenced past the grace period', async () => {
    const w = await world({});
    const s = await w.candidate(1);
    const reportKey = `orgs/${w.orgId}/sessions/${s.sessionId}/reports/report-${'b'.repeat(32)}.html`;
    await real.storage.put(reportKey, new TextEncoder().encode('<html></html>'), 'text/html');
    await real.database.primary
      .insert(reports)
      .values({ orgId: w.orgId, sessionId: s.sessionId, kind: 'html', status: 'ready', storageKey: reportKey });
    const orphan = `orgs/${w.orgId}/sessions/${s.sessionId}/answers/9-1.webm`;
    await real.storage.put(orphan, new Uint8Array([1, 2, 3]), 'video/webm');

    // First seen: only noted. Seen again past the (zero) grace period: deleted, verified, audited.
    await runJob(MAINTENANCE_KEYS.orphanSweep, { graceHours: 0 });
    expect(await real.storage.exists(orphan)).toBe(true);
    await runJob(MAINTENANCE_KEYS.orphanSweep, { graceHours: 0 });
    expect(await real.storage.exists(orphan)).toBe(false);
    // Everything referenced (recording, derived files, frames, the stored report) is still there.
    expect(await real.storage.list(`orgs/${w.orgId}/sessions/${s.sessionId}/`)).toHaveLength(8);
    const [audit] = await audits(w.orgId, 'storage.orphans.deleted');
    expect(audit!.metadata).toMatchObject({ objects: 1, keys: [orphan], verified: true });
  });
});
