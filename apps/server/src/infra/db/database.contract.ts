/**
 * The behaviour every Database implementation must have. `pglite-database.test.ts` and
 * `postgres-database.real.test.ts` each run it against their adapter.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { and, eq, getTableName, is, sql } from 'drizzle-orm';
import { PgTable } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database, Db } from './database.ts';
import { databaseError, isUniqueViolation, SQLSTATE } from './database-errors.ts';
import { MIGRATIONS_FOLDER } from './migrations-folder.ts';
import * as schema from './schema.ts';

const {
  organizations,
  users,
  interviews,
  questions,
  questionVersions,
  interviewSessions,
  emotionAnalysis,
  frames,
  scores,
} = schema;

export interface DatabaseHarness {
  /**
   * Opens `handles` connections to one new, empty (unmigrated) database, as that many processes
   * would. `dispose` closes them and removes the database.
   */
  empty: (handles: number) => Promise<{ handles: Database[]; dispose: () => Promise<void> }>;
  /** Whether several handles can share one database (false for PGlite: one process, one connection). */
  multiProcess: boolean;
  /** A migrated database for the behaviour tests; defaults to `empty(1)` + `migrate()`. */
  migrated?: () => Promise<{ database: Database; dispose: () => Promise<void> }>;
}

const journalEntries = (): number =>
  (JSON.parse(readFileSync(path.join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] })
    .entries.length;

const schemaTables = (): string[] =>
  Object.values(schema)
    .flatMap((v: unknown) => (is(v, PgTable) ? [getTableName(v)] : []))
    .sort();

async function publicTables(db: Db): Promise<string[]> {
  const result = await db.execute<{ table_name: string }>(
    sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`,
  );
  return result.rows.map((r) => r.table_name).sort();
}

async function appliedMigrations(db: Db): Promise<number> {
  const result = await db.execute<{ n: number }>(sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
  return Number(result.rows[0]?.n);
}

/** Runs `fn`, expecting it to fail with a database error, and returns that error's details. */
async function failure(fn: () => Promise<unknown>) {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected the statement to fail').toBeDefined();
  const info = databaseError(caught);
  expect(info, `expected a database error, got ${String(caught)}`).toBeDefined();
  return info!;
}

let seq = 0;
const unique = (label: string) => `${label}-${Date.now().toString(36)}-${(seq++).toString(36)}`;

/** Rows every session-level test needs: an organisation, a recruiter, an interview and a candidate's session. */
async function seedSession(db: Db) {
  const [org] = await db
    .insert(organizations)
    .values({ name: unique('org') })
    .returning();
  const [recruiter] = await db
    .insert(users)
    .values({ orgId: org!.id, email: `${unique('rec')}@example.com`, name: 'Rita Recruiter', role: 'recruiter' })
    .returning();
  const [candidate] = await db
    .insert(users)
    .values({ orgId: org!.id, email: `${unique('cand')}@example.com`, name: 'Cary Candidate', role: 'candidate' })
    .returning();
  const [interview] = await db
    .insert(interviews)
    .values({
      orgId: org!.id,
      title: 'Backend engineer',
      createdBy: recruiter!.id,
      settings: { language: 'en', emotionPolicy: 'insights' },
    })
    .returning();
  const [question] = await db
    .insert(questions)
    .values({ orgId: org!.id, category: 'system-design', tags: ['scaling'] })
    .returning();
  const [version] = await db
    .insert(questionVersions)
    .values({
      orgId: org!.id,
      questionId: question!.id,
      version: 1,
      text: 'How would you shard a sessions table?',
      rubric: {
        criteria: [
          { key: 'depth', name: 'Depth', weight: 1, anchors: { '1': 'vague', '3': 'names a key', '5': 'trade-offs' } },
        ],
        idealAnswer: 'Pick a shard key with even load…',
        keyConcepts: ['shard key', 'rebalancing'],
      },
    })
    .returning();
  const [session] = await db
    .insert(interviewSessions)
    .values({ orgId: org!.id, interviewId: interview!.id, candidateId: candidate!.id })
    .returning();
  return {
    org: org!,
    recruiter: recruiter!,
    candidate: candidate!,
    interview: interview!,
    question: question!,
    version: version!,
    session: session!,
  };
}

export function databaseContract(name: string, makeHarness: () => DatabaseHarness): void {
  describe(`Database contract: ${name}`, () => {
    const harness = makeHarness();

    describe('migrations', () => {
      it('creates every table of the schema from zero, and a second run changes nothing', async () => {
        const { handles, dispose } = await harness.empty(1);
        try {
          const database = handles[0]!;
          expect(await publicTables(database.primary)).toEqual([]);
          await database.migrate();
          expect(await publicTables(database.primary)).toEqual(schemaTables());
          expect(await appliedMigrations(database.primary)).toBe(journalEntries());
          await database.migrate();
          expect(await appliedMigrations(database.primary)).toBe(journalEntries());
          expect(await publicTables(database.primary)).toEqual(schemaTables());
        } finally {
          await dispose();
        }
      });

      it('applies each migration once when several migrate calls race', async () => {
        const { handles, dispose } = await harness.empty(harness.multiProcess ? 4 : 1);
        try {
          // On PostgreSQL every handle is its own pool, i.e. a separate session like a separate process.
          await Promise.all(handles.flatMap((h) => [h.migrate(), h.migrate()]));
          expect(await appliedMigrations(handles[0]!.primary)).toBe(journalEntries());
          expect(await publicTables(handles[0]!.primary)).toEqual(schemaTables());
        } finally {
          await dispose();
        }
      });
    });

    describe('on a migrated database', () => {
      let database: Database;
      let dispose: () => Promise<void>;
      let db: Db;

      beforeAll(async () => {
        if (harness.migrated) {
          ({ database, dispose } = await harness.migrated());
        } else {
          const opened = await harness.empty(1);
          database = opened.handles[0]!;
          dispose = opened.dispose;
          await database.migrate();
        }
        db = database.db;
      });

      afterAll(async () => {
        await dispose?.();
      });

      it('sends every statement through the query hook, in a transaction too, and returns what the driver returns', async () => {
        const seen: string[] = [];
        database.traceQueries(async (text, run) => {
          seen.push(text);
          return run();
        });
        try {
          const [org] = await db.insert(organizations).values({ name: 'Hooked Org' }).returning();
          const rows = await database.primary.transaction((tx) =>
            tx.select().from(organizations).where(eq(organizations.id, org!.id)),
          );
          expect(rows.map((r) => r.name)).toEqual(['Hooked Org']);
          await expect(db.execute(sql`select * from no_such_table`)).rejects.toThrow(/no_such_table/);
          await database.ping();
          const statements = seen.filter((t) => !/^\s*(begin|commit)\b/i.test(t));
          expect(statements).toHaveLength(4);
          expect(statements[0]).toMatch(/^insert into "organizations" .*\$1/);
          expect(statements[1]).toMatch(/^select .* from "organizations" where .*\$1/);
          expect(statements[2]).toBe('select * from no_such_table');
          expect(statements[3]).toBe('select 1');
          // Values travel apart from the text.
          expect(seen.join('\n')).not.toContain('Hooked Org');
        } finally {
          database.traceQueries((_text, run) => run());
        }
      });

      it('fills defaults and returns timestamps as Dates, numerics as numbers and JSONB as objects', async () => {
        const { org, session, version } = await seedSession(db);
        expect(org.id).toMatch(/^[0-9a-f-]{36}$/);
        expect(org.createdAt).toBeInstanceOf(Date);
        expect(org.settings).toEqual({ emotionPolicy: 'insights', retentionDays: 365 });
        expect(session.status).toBe('invited');
        expect(version.rubric.keyConcepts).toEqual(['shard key', 'rebalancing']);
        const [score] = await db
          .insert(scores)
          .values({
            orgId: org.id,
            sessionId: session.id,
            kind: 'session',
            score: 3.25,
            maxScore: 5,
            provider: 'offline',
            model: 'rubric-v1',
            promptVersion: 'p1',
            evidence: { quotes: ['shard by org'] },
          })
          .returning();
        expect(score!.score).toBe(3.25);
        expect(score!.evidence).toEqual({ quotes: ['shard by org'] });
      });

      it('reads, updates and deletes only the rows of the organisation it is scoped to', async () => {
        const a = await seedSession(db);
        const b = await seedSession(db);

        const aUsers = await database.primary.select().from(users).where(eq(users.orgId, a.org.id));
        expect(aUsers.map((u) => u.id).sort()).toEqual([a.recruiter.id, a.candidate.id].sort());

        // Organisation B trying to touch A's recruiter by id changes nothing.
        const renamed = await db
          .update(users)
          .set({ name: 'Mallory' })
          .where(and(eq(users.orgId, b.org.id), eq(users.id, a.recruiter.id)))
          .returning();
        expect(renamed).toEqual([]);
        const deleted = await db
          .delete(interviewSessions)
          .where(and(eq(interviewSessions.orgId, b.org.id), eq(interviewSessions.id, a.session.id)))
          .returning();
        expect(deleted).toEqual([]);

        const [updated] = await db
          .update(users)
          .set({ name: 'Rita R.' })
          .where(and(eq(users.orgId, a.org.id), eq(users.id, a.recruiter.id)))
          .returning();
        expect(updated!.name).toBe('Rita R.');
        expect(updated!.updatedAt.getTime()).toBeGreaterThanOrEqual(a.recruiter.updatedAt.getTime());

        await db
          .delete(interviewSessions)
          .where(and(eq(interviewSessions.orgId, a.org.id), eq(interviewSessions.id, a.session.id)));
        const left = await database.primary
          .select()
          .from(interviewSessions)
          .where(eq(interviewSessions.id, a.session.id));
        expect(left).toEqual([]);
        const bLeft = await database.primary
          .select()
          .from(interviewSessions)
          .where(eq(interviewSessions.id, b.session.id));
        expect(bLeft).toHaveLength(1);
      });

      it('deleting an organisation deletes everything it owns', async () => {
        const a = await seedSession(db);
        await db.delete(organizations).where(eq(organizations.id, a.org.id));
        for (const table of [users, interviews, questions, questionVersions, interviewSessions]) {
          const rows = await database.primary
            .select({ n: sql<number>`count(*)::int` })
            .from(table)
            .where(eq(table.orgId, a.org.id));
          expect(rows[0]!.n).toBe(0);
        }
      });

      it('rolls a failed transaction back completely', async () => {
        const orgName = unique('rolled-back');
        await expect(
          db.transaction(async (tx) => {
            await tx.insert(organizations).values({ name: orgName });
            throw new Error('changed my mind');
          }),
        ).rejects.toThrow('changed my mind');
        expect(await database.primary.select().from(organizations).where(eq(organizations.name, orgName))).toEqual([]);

        // A statement failing inside the transaction undoes the statements before it too.
        const a = await seedSession(db);
        const orgName2 = unique('rolled-back');
        const info = await failure(() =>
          db.transaction(async (tx) => {
            await tx.insert(organizations).values({ name: orgName2 });
            await tx
              .insert(frames)
              .values({ orgId: a.org.id, sessionId: a.session.id, seq: 1, storageKey: 'f/1', capturedAt: new Date() });
            await tx
              .insert(frames)
              .values({ orgId: a.org.id, sessionId: a.session.id, seq: 1, storageKey: 'f/1b', capturedAt: new Date() });
          }),
        );
        expect(info.code).toBe(SQLSTATE.uniqueViolation);
        expect(await database.primary.select().from(organizations).where(eq(organizations.name, orgName2))).toEqual([]);
        expect(await database.primary.select().from(frames).where(eq(frames.sessionId, a.session.id))).toEqual([]);
        // The connection is usable afterwards.
        await database.ping();
      });

      it('finds emotion rows by JSONB containment on metadata', async () => {
        const { org, session } = await seedSession(db);
        const base = { orgId: org.id, sessionId: session.id, frameTs: new Date(), faceDetected: true };
        await db.insert(emotionAnalysis).values([
          {
            ...base,
            frameSeq: 1,
            emotion: 'happy',
            confidence: 0.9,
            metadata: { model: 'human-3.3', gaze: { away: false }, tags: ['smile'] },
          },
          {
            ...base,
            frameSeq: 2,
            emotion: 'neutral',
            confidence: 0.7,
            metadata: { model: 'human-3.3', gaze: { away: true } },
          },
          { ...base, frameSeq: 3, faceDetected: false, blinkCount: 0, metadata: { model: 'face-api-1.7' } },
        ]);
        const lookingAway = await db
          .select({ frameSeq: emotionAnalysis.frameSeq })
          .from(emotionAnalysis)
          .where(
            and(
              eq(emotionAnalysis.sessionId, session.id),
              sql`${emotionAnalysis.metadata} @> ${JSON.stringify({ gaze: { away: true } })}::jsonb`,
            ),
          );
        expect(lookingAway.map((r) => r.frameSeq)).toEqual([2]);
        const human = await db
          .select({ frameSeq: emotionAnalysis.frameSeq })
          .from(emotionAnalysis)
          .where(
            and(
              eq(emotionAnalysis.sessionId, session.id),
              sql`${emotionAnalysis.metadata} @> ${{ model: 'human-3.3' }}`,
            ),
          )
          .orderBy(emotionAnalysis.frameSeq);
        expect(human.map((r) => r.frameSeq)).toEqual([1, 2]);
        const settings = await db
          .select({ id: organizations.id })
          .from(organizations)
          .where(and(eq(organizations.id, org.id), sql`${organizations.settings} @> '{"emotionPolicy":"insights"}'`));
        expect(settings).toEqual([{ id: org.id }]);
      });

      it('refuses a second staff account with the same e-mail in any case, but lets a candidate join several organisations', async () => {
        const a = await seedSession(db);
        const b = await seedSession(db);
        const info = await failure(() =>
          db.insert(users).values({ orgId: b.org.id, email: a.recruiter.email.toUpperCase(), role: 'admin' }),
        );
        expect(info.code).toBe(SQLSTATE.uniqueViolation);
        expect(info.constraint).toBe('users_staff_email_uq');

        const [again] = await db
          .insert(users)
          .values({ orgId: b.org.id, email: a.candidate.email, role: 'candidate' })
          .returning();
        expect(again!.orgId).toBe(b.org.id);
      });

      it('records a re-sent frame once: the duplicate raises, or is skipped with on-conflict-do-nothing', async () => {
        const { org, session } = await seedSession(db);
        const frame = {
          orgId: org.id,
          sessionId: session.id,
          seq: 7,
          storageKey: 'frames/7.jpg',
          capturedAt: new Date(),
        };
        await db.insert(frames).values(frame);
        let caught: unknown;
        await db
          .insert(frames)
          .values(frame)
          .catch((err: unknown) => {
            caught = err;
          });
        expect(isUniqueViolation(caught, 'frames_session_seq_uq')).toBe(true);
        const skipped = await db.insert(frames).values(frame).onConflictDoNothing().returning();
        expect(skipped).toEqual([]);
        const rows = await database.primary.select().from(frames).where(eq(frames.sessionId, session.id));
        expect(rows).toHaveLength(1);
      });

      it('keeps one session score however often the session is scored (nulls are not distinct)', async () => {
        const { org, session } = await seedSession(db);
        const value = (score: number) => ({
          orgId: org.id,
          sessionId: session.id,
          kind: 'session' as const,
          score,
          maxScore: 100,
          provider: 'offline',
          model: 'rubric-v1',
          promptVersion: 'p1',
        });
        await db.insert(scores).values(value(60));
        const info = await failure(() => db.insert(scores).values(value(61)));
        expect(info.code).toBe(SQLSTATE.uniqueViolation);
        expect(info.constraint).toBe('scores_one_result_uq');

        await db
          .insert(scores)
          .values(value(72))
          .onConflictDoUpdate({
            target: [scores.sessionId, scores.kind, scores.answerId, scores.criterion],
            set: { score: 72 },
          });
        const rows = await database.primary.select().from(scores).where(eq(scores.sessionId, session.id));
        expect(rows.map((r) => r.score)).toEqual([72]);
      });

      it('rejects a value outside an enum, a broken foreign key and a failed check', async () => {
        const { org, interview, candidate, session } = await seedSession(db);
        const badEnum = await failure(() =>
          db
            .insert(interviewSessions)
            .values({ orgId: org.id, interviewId: interview.id, candidateId: candidate.id, status: 'paused' as never }),
        );
        expect(badEnum.code).toBe(SQLSTATE.invalidTextRepresentation);

        const badFk = await failure(() =>
          db
            .insert(interviewSessions)
            .values({ orgId: org.id, interviewId: '00000000-0000-4000-8000-000000000000', candidateId: candidate.id }),
        );
        expect(badFk.code).toBe(SQLSTATE.foreignKeyViolation);

        const badCheck = await failure(() =>
          db.insert(emotionAnalysis).values({
            orgId: org.id,
            sessionId: session.id,
            frameSeq: 1,
            frameTs: new Date(),
            faceDetected: true,
            confidence: 1.5,
          }),
        );
        expect(badCheck.code).toBe(SQLSTATE.checkViolation);
      });

      it('refuses to edit a question version, while a new version can be added', async () => {
        const { org, question, version } = await seedSession(db);
        const edit = await failure(() =>
          db.update(questionVersions).set({ text: 'Rewritten' }).where(eq(questionVersions.id, version.id)),
        );
        expect(edit.code).toBe(SQLSTATE.restrictViolation);
        const [next] = await db
          .insert(questionVersions)
          .values({ orgId: org.id, questionId: question.id, version: 2, text: 'Rewritten', rubric: version.rubric })
          .returning();
        expect(next!.version).toBe(2);
        const [kept] = await database.primary
          .select()
          .from(questionVersions)
          .where(eq(questionVersions.id, version.id));
        expect(kept!.text).toBe(version.text);
        const duplicate = await failure(() =>
          db
            .insert(questionVersions)
            .values({ orgId: org.id, questionId: question.id, version: 2, text: 'x', rubric: version.rubric }),
        );
        expect(duplicate.constraint).toBe('question_versions_question_version_uq');
      });

      it('answers a ping while open', async () => {
        await expect(database.ping()).resolves.toBeUndefined();
      });
    });

    it('fails queries after close, and closing twice is harmless', async () => {
      // A migrated database when the harness has a cheap one (PGlite clones); empty otherwise.
      const { database, dispose } = harness.migrated
        ? await harness.migrated()
        : await harness.empty(1).then(({ handles, dispose }) => ({ database: handles[0]!, dispose }));
      try {
        await database.ping();
        await database.close();
        await expect(database.ping()).rejects.toThrow();
        await expect(database.close()).resolves.toBeUndefined();
      } finally {
        await dispose();
      }
    });
  });
}
