import { and, eq, gt, isNotNull, isNull, lte } from 'drizzle-orm';
import { z } from 'zod';
import type { Broker } from '../../infra/broker/broker.ts';
import type { Database } from '../../infra/db/database.ts';
import { invitations } from '../../infra/db/schema.ts';
import { requestEmail } from '../../shared/email-requests.ts';
import { defineJob, type JobContext, type JobDefinition } from '../job.ts';
import { isProcessed, markProcessed } from '../job-runner.ts';
import { dlqOf, MAINTENANCE_KEYS, MAINTENANCE_QUEUE, retryPolicyOf } from '../worker-topology.ts';
import type { RetentionService } from './retention.service.ts';

const QUEUE = MAINTENANCE_QUEUE.name;

export const ZRetentionSweepJob = z.object({ orgId: z.uuid().optional(), dryRun: z.boolean().default(false) });
export const ZExpireSessionsJob = z.object({ dryRun: z.boolean().default(false) });
export const ZOrphanSweepJob = z.object({
  dryRun: z.boolean().default(false),
  graceHours: z
    .number()
    .min(0)
    .max(24 * 30)
    .default(24),
});
export const ZEraseCandidateJob = z.object({
  orgId: z.uuid(),
  candidateId: z.uuid(),
  /** The staff member who asked, for the audit log. */
  requestedBy: z.uuid().nullable().default(null),
});
export const ZRemindDueJob = z.object({
  leadHours: z
    .number()
    .min(1)
    .max(24 * 14)
    .default(24),
});

export type TEraseCandidateJob = z.input<typeof ZEraseCandidateJob>;

/** Asks the workers to erase one candidate's data (right to erasure). */
export async function requestCandidateErasure(broker: Broker, job: TEraseCandidateJob): Promise<void> {
  await broker.publish(MAINTENANCE_KEYS.eraseCandidate, ZEraseCandidateJob.parse(job), {
    messageId: `erase-candidate:${job.orgId}:${job.candidateId}`,
  });
}

const base = { queue: QUEUE, retry: retryPolicyOf(QUEUE), deadLetterQueue: dlqOf(QUEUE) };

/**
 * Runs a scan once per message: a message already marked done (several workers' schedulers
 * publish the same id) is skipped.
 */
async function once(database: Database, ctx: JobContext, run: () => Promise<void>): Promise<void> {
  if (await isProcessed(database.primary, QUEUE, ctx.messageId)) return;
  await run();
  await markProcessed(database.primary, QUEUE, ctx.messageId);
}

export function maintenanceJobs(deps: {
  database: Database;
  broker: Broker;
  retention: RetentionService;
  clock?: () => Date;
}): JobDefinition<never>[] {
  const { database, retention } = deps;
  const clock = deps.clock ?? (() => new Date());
  const jobs = [
    defineJob({
      ...base,
      name: 'retention.sweep',
      routingKeys: [MAINTENANCE_KEYS.retentionSweep],
      payload: ZRetentionSweepJob,
      timeoutMs: 30 * 60_000,
      idempotency: 'natural: a rerun finds nothing older than the limits; message id marked when done',
      handle: (p, ctx) =>
        once(database, ctx, async () => {
          const report = await retention.sweep(p);
          ctx.logger.info(
            { dryRun: p.dryRun, orgs: report.orgs.map((o) => ({ ...o, objects: o.objects.length })) },
            'retention sweep',
          );
        }),
    }),
    defineJob({
      ...base,
      name: 'sessions.expire',
      routingKeys: [MAINTENANCE_KEYS.expireSessions],
      payload: ZExpireSessionsJob,
      timeoutMs: 5 * 60_000,
      idempotency: 'natural: only open sessions past expiry change',
      handle: (p, ctx) =>
        once(database, ctx, async () => {
          const r = await retention.expireSessions(p);
          ctx.logger.info({ dryRun: p.dryRun, sessions: r.sessions.length }, 'expired sessions closed');
        }),
    }),
    defineJob({
      ...base,
      name: 'storage.orphan-sweep',
      routingKeys: [MAINTENANCE_KEYS.orphanSweep],
      payload: ZOrphanSweepJob,
      timeoutMs: 30 * 60_000,
      idempotency: 'natural: deleting a missing object is a no-op; storage_orphans remembers first sightings',
      handle: (p, ctx) =>
        once(database, ctx, async () => {
          const r = await retention.sweepOrphans({ dryRun: p.dryRun, graceMs: p.graceHours * 3600_000 });
          ctx.logger.info({ deleted: r.deleted.length, pending: r.pending.length }, 'orphan sweep');
        }),
    }),
    defineJob({
      ...base,
      name: 'data.erase-candidate',
      routingKeys: [MAINTENANCE_KEYS.eraseCandidate],
      payload: ZEraseCandidateJob,
      timeoutMs: 10 * 60_000,
      idempotency: 'processed_messages mark committed with the row deletion and its audit entry',
      handle: async (p, ctx) => {
        if (await isProcessed(database.primary, QUEUE, ctx.messageId)) return;
        await retention.eraseCandidate({ ...p, markDone: (tx) => markProcessed(tx, QUEUE, ctx.messageId) });
      },
    }),
    defineJob({
      ...base,
      name: 'invitations.remind-due',
      routingKeys: [MAINTENANCE_KEYS.remindDue],
      payload: ZRemindDueJob,
      timeoutMs: 5 * 60_000,
      idempotency: 'each reminder request has the id email:reminder:<invitation>; the e-mail job sends it once',
      handle: (p, ctx) =>
        once(database, ctx, async () => {
          const now = clock();
          const due = await database.primary
            .select({ orgId: invitations.orgId, id: invitations.id })
            .from(invitations)
            .where(
              and(
                eq(invitations.kind, 'candidate'),
                isNull(invitations.usedAt),
                isNull(invitations.revokedAt),
                isNull(invitations.remindedAt),
                isNotNull(invitations.sentAt),
                gt(invitations.expiresAt, now),
                lte(invitations.expiresAt, new Date(now.getTime() + p.leadHours * 3600_000)),
              ),
            );
          for (const inv of due) {
            await requestEmail(deps.broker, { kind: 'reminder', orgId: inv.orgId, invitationId: inv.id });
          }
          ctx.logger.info({ reminders: due.length }, 'reminders requested');
        }),
    }),
  ];
  return jobs as JobDefinition<never>[];
}
