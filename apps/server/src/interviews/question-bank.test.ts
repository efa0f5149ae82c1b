import { ZCreateQuestionBody } from '@parley/contracts';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseError } from '../infra/db/database-errors.ts';
import { questionVersions } from '../infra/db/schema.ts';
import type { StaffActor } from '../shared/actor.ts';
import { createHarness, questionBody, rubric, type Harness } from './testing.ts';

let h: Harness;
let recruiter: StaffActor;
let other: StaffActor;

beforeAll(async () => {
  h = await createHarness();
  ({ recruiter } = await h.org('Acme'));
  ({ recruiter: other } = await h.org('Globex'));
});
afterAll(async () => h.close());

describe('question bank', () => {
  it('creates a question with version 1 of its rubric', async () => {
    const q = await h.module.questions.create(recruiter, questionBody());
    expect(q).toMatchObject({
      category: 'engineering',
      difficulty: 3,
      tags: ['debugging'],
      expectedSeconds: 90,
      archivedAt: null,
      current: { version: 1, text: 'Tell us about a hard bug you fixed.' },
    });
    expect(q.current.rubric.criteria[0]!.anchors).toEqual({
      '1': 'Hard to follow',
      '3': 'Mostly clear',
      '5': 'Crisp and structured',
    });
  });

  it('makes a new version when the rubric changes and keeps the old one intact', async () => {
    const q = await h.module.questions.create(recruiter, questionBody());
    const changed = rubric({ keyConcepts: ['example', 'root cause'] });
    const edited = await h.module.questions.update(recruiter, q.id, { rubric: changed });
    expect(edited.current.version).toBe(2);
    expect(edited.current.rubric.keyConcepts).toEqual(['example', 'root cause']);
    const versions = await h.module.questions.versions(recruiter, q.id);
    expect(versions.map((v) => v.version)).toEqual([2, 1]);
    expect(versions[1]!.rubric.keyConcepts).toEqual(['example']);
    expect(versions[1]!.id).toBe(q.current.id);
  });

  it('edits metadata in place without a new version, and ignores a no-op rubric', async () => {
    const q = await h.module.questions.create(recruiter, questionBody());
    const edited = await h.module.questions.update(recruiter, q.id, {
      tags: ['debugging', 'ops', 'ops'],
      difficulty: 5,
      rubric: rubric(),
    });
    expect(edited.current.version).toBe(1);
    expect(edited.tags).toEqual(['debugging', 'ops']);
    expect(edited.difficulty).toBe(5);
  });

  it('a stored version can never be updated (database trigger)', async () => {
    const q = await h.module.questions.create(recruiter, questionBody());
    const err = await h.database.primary
      .update(questionVersions)
      .set({ text: 'rewritten history' })
      .where(eq(questionVersions.id, q.current.id))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(databaseError(err)?.code).toBe('23001');
  });

  it('searches text case-insensitively, with literal % and _, and filters by tag and category', async () => {
    const { recruiter: r } = await h.org('Searchers');
    await h.module.questions.create(r, questionBody({ text: 'Explain CAP theorem', tags: ['distributed'] }));
    await h.module.questions.create(
      r,
      questionBody({ text: 'Grew revenue by 100% once?', category: 'sales', tags: [] }),
    );
    await h.module.questions.create(r, questionBody({ text: 'Describe snake_case vs camelCase', tags: ['style'] }));
    const search = (q: Parameters<typeof h.module.questions.search>[1]) =>
      h.module.questions.search(r, q).then((qs) => qs.map((x) => x.current.text).sort());
    const base = { limit: 50, offset: 0 };
    expect(await search({ ...base, q: 'cap THEOREM' })).toEqual(['Explain CAP theorem']);
    expect(await search({ ...base, q: '100%' })).toEqual(['Grew revenue by 100% once?']);
    expect(await search({ ...base, q: 'e_c' })).toEqual(['Describe snake_case vs camelCase']);
    expect(await search({ ...base, tag: 'distributed' })).toEqual(['Explain CAP theorem']);
    expect(await search({ ...base, category: 'Sales' })).toEqual(['Grew revenue by 100% once?']);
  });

  it('archived questions leave the default listing, are read-only, and can be restored', async () => {
    const { recruiter: r } = await h.org('Archivers');
    const q = await h.module.questions.create(r, questionBody({ text: 'Soon archived' }));
    await h.module.questions.archive(r, q.id);
    expect(await h.module.questions.search(r, { limit: 50, offset: 0 })).toEqual([]);
    expect((await h.module.questions.search(r, { archived: true, limit: 50, offset: 0 })).map((x) => x.id)).toEqual([
      q.id,
    ]);
    await expect(h.module.questions.update(r, q.id, { text: 'edit' })).rejects.toMatchObject({ code: 'CONFLICT' });
    const restored = await h.module.questions.restore(r, q.id);
    expect(restored.archivedAt).toBeNull();
  });

  it("another organisation's question is not found, for reading, editing or archiving", async () => {
    const q = await h.module.questions.create(recruiter, questionBody());
    await expect(h.module.questions.get(other, q.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(h.module.questions.update(other, q.id, { text: 'mine now' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(h.module.questions.archive(other, q.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(h.module.questions.versions(other, q.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await h.module.questions.search(other, { limit: 200, offset: 0 })).some((x) => x.id === q.id)).toBe(false);
    const [row] = await h.database.primary
      .execute<{ n: number }>(sql`select count(*)::int as n from question_versions where question_id = ${q.id}`)
      .then((r) => r.rows);
    expect(row!.n).toBe(1);
  });

  it('candidates and anonymous callers cannot use the bank', async () => {
    await expect(h.module.questions.search({ kind: 'anonymous' }, { limit: 1, offset: 0 })).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
    await expect(
      h.module.questions.create(
        { kind: 'candidate', orgId: recruiter.orgId, userId: recruiter.userId, sessionId: recruiter.userId },
        questionBody(),
      ),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('the rubric schema requires anchors for levels 1, 3 and 5 and unique criterion keys', () => {
    const noAnchor3 = questionBody({
      rubric: rubric({ criteria: [{ key: 'c', name: 'C', weight: 1, anchors: { '1': 'a', '5': 'b' } as never }] }),
    });
    expect(ZCreateQuestionBody.safeParse(noAnchor3).success).toBe(false);
    const dup = questionBody({
      rubric: rubric({ criteria: [rubric().criteria[0]!, rubric().criteria[0]!] }),
    });
    expect(ZCreateQuestionBody.safeParse(dup).success).toBe(false);
    const minimal = ZCreateQuestionBody.parse({
      text: 'Q',
      rubric: { criteria: [{ key: 'c', name: 'C', anchors: { '1': 'a', '3': 'b', '5': 'c' } }] },
    });
    expect(minimal.rubric).toMatchObject({ idealAnswer: '', keyConcepts: [] });
    expect(minimal.rubric.criteria[0]!.weight).toBe(1);
  });
});
