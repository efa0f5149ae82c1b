import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StaffActor } from '../shared/actor.ts';
import { effectivePolicy } from './interview.service.ts';
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

const settings = {
  language: 'en',
  deadline: null,
  emotionPolicy: 'insights' as const,
  weights: { answers: 1, emotion: 0, behavioral: 0 },
};

async function draft(questions: { questionId: string; version?: number; isPractice?: boolean }[] = []) {
  return h.module.interviews.create(recruiter, {
    title: 'Backend engineer',
    description: 'Round 1',
    settings,
    questions: questions.map((q) => ({
      isPractice: false,
      prepSeconds: 30,
      retakesAllowed: 0,
      ...q,
    })),
  });
}

describe('interviews', () => {
  it('pins the newest version of each question, in order, with timings defaulting to the expected duration', async () => {
    const a = await h.module.questions.create(recruiter, questionBody({ text: 'A', expectedSeconds: 45 }));
    const b = await h.module.questions.create(recruiter, questionBody({ text: 'B', expectedSeconds: null }));
    const interview = await draft([{ questionId: b.id, isPractice: true }, { questionId: a.id }]);
    expect(interview.status).toBe('draft');
    expect(interview.questions.map((q) => [q.position, q.text, q.version, q.isPractice, q.answerSeconds])).toEqual([
      [0, 'B', 1, true, 120],
      [1, 'A', 1, false, 45],
    ]);
  });

  it('keeps the pinned version after the question is edited; a later version can be pinned explicitly', async () => {
    const q = await h.module.questions.create(recruiter, questionBody({ text: 'Original' }));
    const interview = await draft([{ questionId: q.id }]);
    await h.module.questions.update(recruiter, q.id, { text: 'Reworded', rubric: rubric({ idealAnswer: 'new' }) });
    const again = await h.module.interviews.get(recruiter, interview.id);
    expect(again.questions[0]).toMatchObject({ text: 'Original', version: 1, questionVersionId: q.current.id });
    const repinned = await h.module.interviews.update(recruiter, interview.id, {
      questions: [{ questionId: q.id, version: 2, isPractice: false, prepSeconds: 10, retakesAllowed: 2 }],
    });
    expect(repinned.questions[0]).toMatchObject({ text: 'Reworded', version: 2, prepSeconds: 10, retakesAllowed: 2 });
    await expect(
      h.module.interviews.update(recruiter, interview.id, {
        questions: [{ questionId: q.id, version: 9, isPractice: false, prepSeconds: 10, retakesAllowed: 0 }],
      }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it("refuses another organisation's question and an archived one", async () => {
    const foreign = await h.module.questions.create(other, questionBody());
    await expect(draft([{ questionId: foreign.id }])).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const archived = await h.module.questions.create(recruiter, questionBody());
    await h.module.questions.archive(recruiter, archived.id);
    await expect(draft([{ questionId: archived.id }])).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('goes draft → published → archived, and refuses every other move with ILLEGAL_TRANSITION', async () => {
    const q = await h.module.questions.create(recruiter, questionBody());
    const interview = await draft([{ questionId: q.id }]);
    const published = await h.module.interviews.publish(recruiter, interview.id);
    expect(published.status).toBe('published');
    expect(published.publishedAt).toBe(h.clock.now().toISOString());
    await expect(h.module.interviews.publish(recruiter, interview.id)).rejects.toMatchObject({
      code: 'ILLEGAL_TRANSITION',
    });
    expect((await h.module.interviews.archive(recruiter, interview.id)).status).toBe('archived');
    await expect(h.module.interviews.archive(recruiter, interview.id)).rejects.toMatchObject({
      code: 'ILLEGAL_TRANSITION',
    });
    await expect(h.module.interviews.publish(recruiter, interview.id)).rejects.toMatchObject({
      code: 'ILLEGAL_TRANSITION',
    });
  });

  it('freezes questions and settings once published; the title can still change', async () => {
    const q = await h.module.questions.create(recruiter, questionBody());
    const interview = await draft([{ questionId: q.id }]);
    await h.module.interviews.publish(recruiter, interview.id);
    await expect(
      h.module.interviews.update(recruiter, interview.id, { settings: { ...settings, language: 'fr' } }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await h.module.interviews.update(recruiter, interview.id, { title: 'Renamed' })).title).toBe('Renamed');
  });

  it('will not publish without a scored question or with a past deadline', async () => {
    const practice = await h.module.questions.create(recruiter, questionBody());
    const onlyPractice = await draft([{ questionId: practice.id, isPractice: true }]);
    await expect(h.module.interviews.publish(recruiter, onlyPractice.id)).rejects.toMatchObject({ code: 'CONFLICT' });
    const late = await h.module.interviews.create(recruiter, {
      title: 'Late',
      description: '',
      settings: { ...settings, deadline: new Date(h.clock.now().getTime() - 1000).toISOString() },
      questions: [{ questionId: practice.id, isPractice: false, prepSeconds: 0, retakesAllowed: 0 }],
    });
    await expect(h.module.interviews.publish(recruiter, late.id)).rejects.toMatchObject({ code: 'DEADLINE_PASSED' });
  });

  it('lists by status with question counts, only for the organisation', async () => {
    const { recruiter: r } = await h.org('Listers');
    const q = await h.module.questions.create(r, questionBody());
    const a = await h.module.interviews.create(r, { title: 'A', description: '', settings, questions: [] });
    const b = await h.module.interviews.create(r, {
      title: 'B',
      description: '',
      settings,
      questions: [{ questionId: q.id, isPractice: false, prepSeconds: 0, retakesAllowed: 0 }],
    });
    await h.module.interviews.publish(r, b.id);
    const drafts = await h.module.interviews.list(r, { status: 'draft', limit: 50, offset: 0 });
    expect(drafts.map((i) => [i.id, i.questionCount])).toEqual([[a.id, 0]]);
    const all = await h.module.interviews.list(r, { limit: 50, offset: 0 });
    expect(all.map((i) => i.title).sort()).toEqual(['A', 'B']);
    await expect(h.module.interviews.get(other, a.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(h.module.interviews.publish(other, a.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it("narrows, never widens, the organisation's emotion policy", () => {
    expect(effectivePolicy('scored', 'insights')).toBe('insights');
    expect(effectivePolicy('off', 'scored')).toBe('off');
    expect(effectivePolicy('insights', 'scored')).toBe('insights');
    expect(effectivePolicy('scored', 'off')).toBe('off');
  });
});
