import { and, eq, inArray, isNotNull, lt, or, sql } from 'drizzle-orm';
import type { Cache } from '../../infra/cache/cache.ts';
import type { Database, Db } from '../../infra/db/database.ts';
import {
  answerMedia,
  answers,
  auditLog,
  frames,
  interviewSessions,
  invitations,
  organizations,
  reports,
  storageOrphans,
  users,
} from '../../infra/db/schema.ts';
import type { Logger } from '../../infra/log.ts';
import type { Storage } from '../../infra/storage/storage.ts';
import { announceSessionUpdates, writingSessions } from '../../interviews/index.ts';
import { daysBefore, retentionPolicyOf, type RetentionPolicy } from './retention-policy.ts';

export interface RetentionDeps {
  database: Database;
  storage: Storage;
  logger: Logger;
  /**
   * Where the interviews context caches `session:{id}` and realtime listens for state changes:
   * sessions expired here are invalidated and announced through it. Without it, readers notice
   * an expiry from the deadline in their copy, and live views on their next poll.
   */
  cache?: Cache;
  clock?: () => Date;
}

/** What a sweep deleted, or with `dryRun` would delete, in one organisation. */
export interface OrgRetentionReport {
  orgId: string;
  policy: RetentionPolicy;
  /** Rows of `frames` (live stream) older than the frame limit. */
  frames: number;
  /** Recordings whose extracted frames are older than the frame limit. */
  extractedFrameSets: number;
  /** Answers whose recording is older than the recording limit. */
  recordings: number;
  /** Sessions older than the session limit, deleted whole. */
  sessions: number;
  /** Every storage key deleted (or to delete). */
  objects: string[];
}

export interface RetentionReport {
  dryRun: boolean;
  orgs: OrgRetentionReport[];
}

export interface ErasureReport {
  dryRun: boolean;
  orgId: string;
  candidateId: string;
  sessions: string[];
  invitations: number;
  objects: string[];
  /** Rows and objects were checked gone after the deletion (false in a dry run). */
  verified: boolean;
}

export interface ExpiryReport {
  dryRun: boolean;
  sessions: { orgId: string; sessionId: string }[];
}

export interface OrphanReport {
  dryRun: boolean;
  /** Unreferenced objects older than the grace period: deleted (or to delete). */
  deleted: string[];
  /** Unreferenced objects seen for the first time or still within the grace period. */
  pending: string[];
}

/** Raised when a deletion could not be confirmed; the job retries it. */
export class DeletionNotVerifiedError extends Error {
  override readonly name = 'DeletionNotVerifiedError';
}

const sessionPrefix = (orgId: string, sessionId: string) => `orgs/${orgId}/sessions/${sessionId}/`;

/**
 * Retention and erasure: deletes what an organisation's policy no longer allows it to keep,
 * one candidate's data on request, expired sessions' openness and unreferenced storage objects.
 * Storage goes first and rows second, so a crash in between leaves rows that a rerun finds
 * again, never objects nobody can find. Each deletion is checked and written to the audit log.
 */
export class RetentionService {
  private readonly db: Db;
  private readonly clock: () => Date;

  constructor(private readonly deps: RetentionDeps) {
    this.db = deps.database.primary;
    this.clock = deps.clock ?? (() => new Date());
  }

  // -----------------------------------------------------------------------------------------
  // Per-organisation policy

  async sweep(options: { dryRun?: boolean; orgId?: string } = {}): Promise<RetentionReport> {
    const dryRun = options.dryRun ?? false;
    const orgs = await this.db
      .select({ id: organizations.id, settings: organizations.settings })
      .from(organizations)
      .where(options.orgId ? eq(organizations.id, options.orgId) : undefined);
    const out: OrgRetentionReport[] = [];
    for (const org of orgs) out.push(await this.sweepOrg(org.id, retentionPolicyOf(org.settings), dryRun));
    return { dryRun, orgs: out };
  }

  private async sweepOrg(orgId: string, policy: RetentionPolicy, dryRun: boolean): Promise<OrgRetentionReport> {
    const now = this.clock();
    const report: OrgRetentionReport = {
      orgId,
      policy,
      frames: 0,
      extractedFrameSets: 0,
      recordings: 0,
      sessions: 0,
      objects: [],
    };

    // Whole sessions first: what they hold needs no separate pass.
    const oldSessions = await this.db
      .select({ id: interviewSessions.id })
      .from(interviewSessions)
      .where(
        and(eq(interviewSessions.orgId, orgId), lt(interviewSessions.createdAt, daysBefore(now, policy.sessionsDays))),
      );
    for (const s of oldSessions) {
      const keys = await this.sessionObjects(orgId, s.id);
      report.objects.push(...keys);
      report.sessions++;
      if (dryRun) continue;
      await this.deleteObjects(keys);
      await this.writingSessions([s.id], () =>
        this.db
          .delete(interviewSessions)
          .where(and(eq(interviewSessions.orgId, orgId), eq(interviewSessions.id, s.id))),
      );
    }

    // Recordings and their derived files.
    const recCutoff = daysBefore(now, policy.recordingsDays);
    const oldRecordings = await this.db
      .select({
        id: answers.id,
        mediaKey: answers.mediaKey,
        videoKey: answerMedia.videoKey,
        posterKey: answerMedia.posterKey,
        audioKey: answerMedia.audioKey,
        framesPrefix: answerMedia.framesPrefix,
      })
      .from(answers)
      .leftJoin(answerMedia, eq(answerMedia.answerId, answers.id))
      .where(
        and(
          eq(answers.orgId, orgId),
          isNotNull(answers.mediaKey),
          lt(sql`coalesce(${answers.submittedAt}, ${answers.createdAt})`, recCutoff),
        ),
      );
    for (const r of oldRecordings) {
      const keys = [r.mediaKey, r.videoKey, r.posterKey, r.audioKey].filter((k): k is string => !!k);
      if (r.framesPrefix) keys.push(...(await this.deps.storage.list(r.framesPrefix)));
      report.objects.push(...keys);
      report.recordings++;
      if (dryRun) continue;
      await this.deleteObjects(keys);
      await this.db.transaction(async (tx) => {
        await tx
          .update(answers)
          .set({ mediaKey: null, mediaContentType: null })
          .where(and(eq(answers.orgId, orgId), eq(answers.id, r.id)));
        await tx
          .update(answerMedia)
          .set({
            videoKey: null,
            posterKey: null,
            audioKey: null,
            framesPrefix: null,
            frameCount: 0,
            recordingDeletedAt: now,
            framesDeletedAt: sql`coalesce(${answerMedia.framesDeletedAt}, ${now.toISOString()}::timestamptz)`,
            updatedAt: now,
          })
          .where(and(eq(answerMedia.orgId, orgId), eq(answerMedia.answerId, r.id)));
      });
    }

    // Raw frames: the live stream's, then those extracted from recordings.
    const frameCutoff = daysBefore(now, policy.framesDays);
    const oldFrames = await this.db
      .select({ id: frames.id, key: frames.storageKey })
      .from(frames)
      .where(and(eq(frames.orgId, orgId), lt(frames.capturedAt, frameCutoff)));
    report.frames = oldFrames.length;
    report.objects.push(...oldFrames.map((f) => f.key));
    if (!dryRun && oldFrames.length > 0) {
      await this.deleteObjects(oldFrames.map((f) => f.key));
      for (let i = 0; i < oldFrames.length; i += 500) {
        const ids = oldFrames.slice(i, i + 500).map((f) => f.id);
        await this.db.delete(frames).where(and(eq(frames.orgId, orgId), inArray(frames.id, ids)));
      }
    }
    const oldFrameSets = await this.db
      .select({ answerId: answerMedia.answerId, prefix: answerMedia.framesPrefix })
      .from(answerMedia)
      .where(
        and(
          eq(answerMedia.orgId, orgId),
          isNotNull(answerMedia.framesPrefix),
          lt(sql`coalesce(${answerMedia.processedAt}, ${answerMedia.createdAt})`, frameCutoff),
        ),
      );
    for (const set of oldFrameSets) {
      const keys = await this.deps.storage.list(set.prefix!);
      report.objects.push(...keys);
      report.extractedFrameSets++;
      if (dryRun) continue;
      await this.deleteObjects(keys);
      await this.db
        .update(answerMedia)
        .set({ framesPrefix: null, frameCount: 0, framesDeletedAt: now, updatedAt: now })
        .where(and(eq(answerMedia.orgId, orgId), eq(answerMedia.answerId, set.answerId)));
    }

    if (!dryRun && report.objects.length + report.sessions + report.frames > 0) {
      await this.verifyGone(report.objects);
      await this.db.insert(auditLog).values({
        orgId,
        action: 'retention.sweep',
        targetType: 'organization',
        targetId: orgId,
        metadata: {
          policy,
          sessions: report.sessions,
          recordings: report.recordings,
          frames: report.frames,
          extractedFrameSets: report.extractedFrameSets,
          objects: report.objects.length,
          verified: true,
        },
      });
      this.deps.logger.info({ ...report, objects: report.objects.length }, 'retention sweep deleted data');
    }
    return report;
  }

  // -----------------------------------------------------------------------------------------
  // Right to erasure

  /**
   * Deletes everything about one candidate in one organisation: sessions (and with them answers,
   * frames, analysis, scores, reports, consents), their invitations, every stored object and the
   * account. `markDone` runs in the transaction that deletes the rows (a job's processed mark).
   */
  async eraseCandidate(input: {
    orgId: string;
    candidateId: string;
    requestedBy?: string | null;
    dryRun?: boolean;
    markDone?: (tx: Db) => Promise<unknown>;
  }): Promise<ErasureReport> {
    const { orgId, candidateId } = input;
    const dryRun = input.dryRun ?? false;
    const [candidate] = await this.db
      .select({ id: users.id, email: users.email })
      .from(users)
      .where(and(eq(users.orgId, orgId), eq(users.id, candidateId), eq(users.role, 'candidate')));
    const sessions = await this.db
      .select({ id: interviewSessions.id })
      .from(interviewSessions)
      .where(and(eq(interviewSessions.orgId, orgId), eq(interviewSessions.candidateId, candidateId)));
    const sessionIds = sessions.map((s) => s.id);
    const objects: string[] = [];
    for (const id of sessionIds) objects.push(...(await this.sessionObjects(orgId, id)));
    const invitationWhere = and(
      eq(invitations.orgId, orgId),
      eq(invitations.kind, 'candidate'),
      or(
        sessionIds.length ? inArray(invitations.sessionId, sessionIds) : sql`false`,
        candidate ? sql`lower(${invitations.email}) = lower(${candidate.email})` : sql`false`,
      ),
    );
    const invitationRows = await this.db.select({ id: invitations.id }).from(invitations).where(invitationWhere);
    const report: ErasureReport = {
      dryRun,
      orgId,
      candidateId,
      sessions: sessionIds,
      invitations: invitationRows.length,
      objects,
      verified: false,
    };
    if (dryRun) return report;

    await this.deleteObjects(objects);
    await this.writingSessions(sessionIds, () =>
      this.db.transaction(async (tx) => {
        await tx.delete(invitations).where(invitationWhere);
        if (sessionIds.length) {
          await tx
            .delete(interviewSessions)
            .where(and(eq(interviewSessions.orgId, orgId), inArray(interviewSessions.id, sessionIds)));
        }
        await tx
          .delete(users)
          .where(and(eq(users.orgId, orgId), eq(users.id, candidateId), eq(users.role, 'candidate')));
        await tx.insert(auditLog).values({
          orgId,
          actorId: input.requestedBy ?? null,
          action: 'candidate.erased',
          targetType: 'user',
          targetId: candidateId,
          metadata: {
            sessions: sessionIds.length,
            invitations: invitationRows.length,
            objects: objects.length,
            verified: true,
          },
        });
        await input.markDone?.(tx);
      }),
    );
    await this.verifyGone(
      objects,
      sessionIds.map((id) => sessionPrefix(orgId, id)),
    );
    const [left] = await this.db
      .select({ n: sql<number>`count(*)::int` })
      .from(users)
      .where(and(eq(users.orgId, orgId), eq(users.id, candidateId)));
    const [leftSessions] = await this.db
      .select({ n: sql<number>`count(*)::int` })
      .from(interviewSessions)
      .where(and(eq(interviewSessions.orgId, orgId), eq(interviewSessions.candidateId, candidateId)));
    if ((left?.n ?? 0) + (leftSessions?.n ?? 0) > 0) {
      throw new DeletionNotVerifiedError(`Candidate ${candidateId} still has rows after erasure`);
    }
    report.verified = true;
    this.deps.logger.info(
      { orgId, candidateId, sessions: sessionIds.length, objects: objects.length },
      'candidate data erased',
    );
    return report;
  }

  // -----------------------------------------------------------------------------------------
  // Expired sessions

  /** Sessions still open past their expiry become `expired`, with one audit entry per organisation. */
  async expireSessions(options: { dryRun?: boolean } = {}): Promise<ExpiryReport> {
    const dryRun = options.dryRun ?? false;
    const now = this.clock();
    const open = and(
      inArray(interviewSessions.status, ['invited', 'consented', 'in_progress']),
      lt(interviewSessions.expiresAt, now),
    );
    const due = await this.db
      .select({ orgId: interviewSessions.orgId, sessionId: interviewSessions.id })
      .from(interviewSessions)
      .where(open);
    if (dryRun || due.length === 0) return { dryRun, sessions: due };
    const expire = () =>
      this.db.transaction(async (tx) => {
        const rows = await tx
          .update(interviewSessions)
          .set({ status: 'expired', updatedAt: now })
          .where(
            and(
              open,
              inArray(
                interviewSessions.id,
                due.map((d) => d.sessionId),
              ),
            ),
          )
          .returning({
            orgId: interviewSessions.orgId,
            sessionId: interviewSessions.id,
            currentPosition: interviewSessions.currentPosition,
          });
        const byOrg = new Map<string, string[]>();
        for (const r of rows) byOrg.set(r.orgId, [...(byOrg.get(r.orgId) ?? []), r.sessionId]);
        for (const [orgId, ids] of byOrg) {
          await tx.insert(auditLog).values({
            orgId,
            action: 'session.expired',
            targetType: 'session',
            targetId: ids.length === 1 ? ids[0]! : null,
            metadata: { sessions: ids },
          });
        }
        return rows;
      });
    const cache = this.deps.cache;
    const rows = await this.writingSessions(
      due.map((d) => d.sessionId),
      expire,
    );
    const closed = rows.map(({ orgId, sessionId }) => ({ orgId, sessionId }));
    if (cache && rows.length > 0) {
      // Committed: live views hear of it now rather than on their next poll (best effort).
      await announceSessionUpdates(
        cache,
        rows.map((r) => ({
          id: r.sessionId,
          orgId: r.orgId,
          status: 'expired' as const,
          currentPosition: r.currentPosition,
          updatedAt: now,
        })),
      ).catch((err: unknown) => this.deps.logger.warn({ err }, 'announcing expired sessions failed'));
    }
    return { dryRun, sessions: closed };
  }

  // -----------------------------------------------------------------------------------------
  // Orphaned storage objects

  /**
   * Objects under `orgs/` that no row references. One seen for the first time is only noted; it
   * is deleted by a later sweep once it has stayed unreferenced for `graceMs` (an upload writes
   * its object before the row that points to it).
   */
  async sweepOrphans(options: { dryRun?: boolean; graceMs?: number } = {}): Promise<OrphanReport> {
    const dryRun = options.dryRun ?? false;
    const graceMs = options.graceMs ?? 24 * 3600 * 1000;
    const now = this.clock();
    const keys = await this.deps.storage.list('orgs/');
    const referenced = await this.referencedKeys();
    const prefixes = referenced.prefixes;
    const unreferenced = keys.filter((k) => !referenced.keys.has(k) && !prefixes.some((p) => k.startsWith(p)));

    const seen = new Map<string, Date>();
    for (let i = 0; i < unreferenced.length; i += 500) {
      const chunk = unreferenced.slice(i, i + 500);
      const rows = await this.db.select().from(storageOrphans).where(inArray(storageOrphans.key, chunk));
      for (const r of rows) seen.set(r.key, r.firstSeenAt);
    }
    const deleted = unreferenced.filter((k) => {
      const first = seen.get(k);
      return first !== undefined && now.getTime() - first.getTime() >= graceMs;
    });
    const pending = unreferenced.filter((k) => !deleted.includes(k));
    if (dryRun) return { dryRun, deleted, pending };

    const fresh = pending.filter((k) => !seen.has(k));
    for (let i = 0; i < fresh.length; i += 500) {
      await this.db
        .insert(storageOrphans)
        .values(fresh.slice(i, i + 500).map((key) => ({ key, firstSeenAt: now })))
        .onConflictDoNothing();
    }
    // Forget keys that are referenced again or gone.
    const stillOrphans = new Set(unreferenced);
    const tracked = await this.db.select({ key: storageOrphans.key }).from(storageOrphans);
    const forget = tracked.map((t) => t.key).filter((k) => !stillOrphans.has(k));
    for (let i = 0; i < forget.length; i += 500) {
      await this.db.delete(storageOrphans).where(inArray(storageOrphans.key, forget.slice(i, i + 500)));
    }
    if (deleted.length > 0) {
      await this.deleteObjects(deleted);
      await this.verifyGone(deleted);
      await this.db.delete(storageOrphans).where(inArray(storageOrphans.key, deleted));
      const byOrg = new Map<string, string[]>();
      for (const k of deleted) {
        const orgId = /^orgs\/([0-9a-f-]{36})\//.exec(k)?.[1];
        if (orgId) byOrg.set(orgId, [...(byOrg.get(orgId) ?? []), k]);
      }
      const known = byOrg.size
        ? await this.db
            .select({ id: organizations.id })
            .from(organizations)
            .where(inArray(organizations.id, [...byOrg.keys()]))
        : [];
      for (const { id } of known) {
        await this.db.insert(auditLog).values({
          orgId: id,
          action: 'storage.orphans.deleted',
          targetType: 'storage',
          metadata: { objects: byOrg.get(id)!.length, keys: byOrg.get(id)!.slice(0, 100), verified: true },
        });
      }
      this.deps.logger.info({ objects: deleted.length }, 'orphaned storage objects deleted');
    }
    return { dryRun, deleted, pending };
  }

  // -----------------------------------------------------------------------------------------

  /** Every object of a session: what rows point at, and whatever else lives under its prefix. */
  private async sessionObjects(orgId: string, sessionId: string): Promise<string[]> {
    const keys = new Set(await this.deps.storage.list(sessionPrefix(orgId, sessionId)));
    const add = (k: string | null) => {
      if (k) keys.add(k);
    };
    const bySession = and(eq(answers.orgId, orgId), eq(answers.sessionId, sessionId));
    for (const a of await this.db.select({ k: answers.mediaKey }).from(answers).where(bySession)) add(a.k);
    for (const f of await this.db
      .select({ k: frames.storageKey })
      .from(frames)
      .where(and(eq(frames.orgId, orgId), eq(frames.sessionId, sessionId))))
      add(f.k);
    for (const r of await this.db
      .select({ k: reports.storageKey })
      .from(reports)
      .where(and(eq(reports.orgId, orgId), eq(reports.sessionId, sessionId))))
      add(r.k);
    for (const m of await this.db
      .select()
      .from(answerMedia)
      .where(and(eq(answerMedia.orgId, orgId), eq(answerMedia.sessionId, sessionId)))) {
      [m.sourceKey, m.videoKey, m.posterKey, m.audioKey].forEach(add);
      if (m.framesPrefix) for (const k of await this.deps.storage.list(m.framesPrefix)) keys.add(k);
    }
    return [...keys].sort();
  }

  private async referencedKeys(): Promise<{ keys: Set<string>; prefixes: string[] }> {
    const keys = new Set<string>();
    const add = (k: string | null) => {
      if (k) keys.add(k);
    };
    for (const r of await this.db.select({ k: answers.mediaKey }).from(answers).where(isNotNull(answers.mediaKey)))
      add(r.k);
    for (const r of await this.db.select({ k: frames.storageKey }).from(frames)) add(r.k);
    for (const r of await this.db.select({ k: reports.storageKey }).from(reports).where(isNotNull(reports.storageKey)))
      add(r.k);
    const prefixes: string[] = [];
    for (const m of await this.db.select().from(answerMedia)) {
      [m.sourceKey, m.videoKey, m.posterKey, m.audioKey].forEach(add);
      if (m.framesPrefix) prefixes.push(m.framesPrefix);
    }
    return { keys, prefixes };
  }

  /** A write to sessions: their cached copies (`session:{id}`) are fenced and dropped around it. */
  private writingSessions<T>(sessionIds: readonly string[], write: () => Promise<T>): Promise<T> {
    return this.deps.cache ? writingSessions(this.deps.cache, sessionIds, write) : write();
  }

  private async deleteObjects(keys: string[]): Promise<void> {
    for (const key of keys) await this.deps.storage.delete(key);
  }

  /** Confirms that storage no longer has the keys (nor anything under the prefixes). */
  private async verifyGone(keys: string[], prefixes: string[] = []): Promise<void> {
    for (const key of keys) {
      if (await this.deps.storage.exists(key)) throw new DeletionNotVerifiedError(`Object ${key} still exists`);
    }
    for (const p of prefixes) {
      const left = await this.deps.storage.list(p);
      if (left.length > 0) throw new DeletionNotVerifiedError(`${left.length} object(s) left under ${p}`);
    }
  }
}
