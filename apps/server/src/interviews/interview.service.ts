import type {
  TCreateInterviewBody,
  TInterview,
  TInterviewSettings,
  TUpdateInterviewBody,
  ZInterviewQuestionInput,
} from '@parley/contracts';
import { type TEmotionPolicy } from '@parley/contracts';
import type { z } from 'zod';
import type { InterviewSettings, InterviewStatus } from '../infra/db/schema.ts';
import { requireStaff, type Actor } from '../shared/actor.ts';
import { AppError } from '../shared/app-error.ts';
import type { Clock } from './clock.ts';
import type {
  InterviewRecord,
  InterviewRepository,
  InterviewWithQuestions,
  PinnedQuestion,
} from './interview.repository.ts';
import type { QuestionBankRepository } from './question-bank.repository.ts';
import type { SessionRepository } from './session.repository.ts';

type QuestionInput = z.output<typeof ZInterviewQuestionInput>;

const DEFAULT_ANSWER_SECONDS = 120;

/** Which interview states each status may be reached from. */
const INTERVIEW_TRANSITIONS: Record<Exclude<InterviewStatus, 'draft'>, InterviewStatus[]> = {
  published: ['draft'],
  archived: ['draft', 'published'],
};

/**
 * Interviews: an ordered list of pinned question versions with timings, plus settings. A draft
 * can be edited freely; publishing freezes its questions and settings, because sessions are
 * taken (and scored) against them.
 */
export class InterviewService {
  constructor(
    private readonly repo: InterviewRepository,
    private readonly questions: QuestionBankRepository,
    private readonly sessions: SessionRepository,
    private readonly clock: Clock,
  ) {}

  async create(actor: Actor, input: TCreateInterviewBody): Promise<TInterview> {
    requireStaff(actor);
    const pinned = await this.pin(actor.orgId, input.questions);
    const id = await this.repo.create(
      actor.orgId,
      {
        title: input.title,
        description: input.description,
        settings: toStoredSettings(input.settings),
        createdBy: actor.userId,
        at: this.clock(),
      },
      pinned,
    );
    return toInterview(await this.mustFind(actor.orgId, id));
  }

  async get(actor: Actor, interviewId: string): Promise<TInterview> {
    requireStaff(actor);
    return toInterview(await this.mustFind(actor.orgId, interviewId));
  }

  async list(
    actor: Actor,
    filter: { status?: InterviewStatus; limit: number; offset: number },
  ): Promise<(Omit<TInterview, 'questions'> & { questionCount: number })[]> {
    requireStaff(actor);
    const rows = await this.repo.list(actor.orgId, filter);
    return rows.map(({ interview, questionCount }) => ({ ...toInterviewFields(interview), questionCount }));
  }

  async update(actor: Actor, interviewId: string, input: TUpdateInterviewBody): Promise<TInterview> {
    requireStaff(actor);
    const existing = await this.mustFind(actor.orgId, interviewId);
    const draftOnly = input.settings !== undefined || input.questions !== undefined;
    if (existing.interview.status === 'archived' || (draftOnly && existing.interview.status !== 'draft')) {
      throw new AppError(
        'CONFLICT',
        draftOnly
          ? 'Questions and settings can only change while the interview is a draft'
          : 'An archived interview cannot be edited',
      );
    }
    const pinned = input.questions ? await this.pin(actor.orgId, input.questions) : undefined;
    const write = () =>
      this.repo.update(
        actor.orgId,
        interviewId,
        {
          title: input.title,
          description: input.description,
          settings: input.settings ? toStoredSettings(input.settings) : undefined,
        },
        pinned,
        this.clock(),
      );
    // Sessions show the interview's title: a new title fences and drops their cached snapshots.
    const updated =
      input.title === undefined ? await write() : await this.sessions.writingInterview(actor.orgId, interviewId, write);
    if (!updated) throw new AppError('CONFLICT', 'The interview changed state meanwhile; reload it');
    return toInterview(await this.mustFind(actor.orgId, interviewId));
  }

  /** A draft with at least one scored question and a deadline in the future becomes takeable. */
  async publish(actor: Actor, interviewId: string): Promise<TInterview> {
    requireStaff(actor);
    const existing = await this.mustFind(actor.orgId, interviewId);
    if (existing.interview.status !== 'draft') throw illegal(existing.interview.status, 'published');
    if (!existing.questions.some((q) => !q.isPractice)) {
      throw new AppError('CONFLICT', 'Add at least one question that is not the practice question');
    }
    const deadline = existing.interview.settings.deadline;
    if (deadline && new Date(deadline) <= this.clock()) {
      throw new AppError('DEADLINE_PASSED', 'The deadline is in the past; move it before publishing');
    }
    await this.transition(actor.orgId, interviewId, 'published');
    return toInterview(await this.mustFind(actor.orgId, interviewId));
  }

  /** No new invitations; sessions already under way can still be finished. */
  async archive(actor: Actor, interviewId: string): Promise<TInterview> {
    requireStaff(actor);
    await this.transition(actor.orgId, interviewId, 'archived');
    return toInterview(await this.mustFind(actor.orgId, interviewId));
  }

  private async transition(orgId: string, interviewId: string, to: 'published' | 'archived'): Promise<void> {
    const moved = await this.repo.setStatus(orgId, interviewId, INTERVIEW_TRANSITIONS[to], to, this.clock());
    if (moved) return;
    const current = await this.mustFind(orgId, interviewId);
    throw illegal(current.interview.status, to);
  }

  private async mustFind(orgId: string, interviewId: string): Promise<InterviewWithQuestions> {
    const found = await this.repo.find(orgId, interviewId);
    if (!found) throw new AppError('NOT_FOUND', 'Interview not found');
    return found;
  }

  /** Resolves each entry to a version of a question of this organisation. */
  private async pin(orgId: string, inputs: QuestionInput[]): Promise<PinnedQuestion[]> {
    const pinned: PinnedQuestion[] = [];
    for (const [i, input] of inputs.entries()) {
      const found = await this.questions.find(orgId, input.questionId);
      if (!found) throw new AppError('NOT_FOUND', `Question ${i + 1} not found`, { position: i });
      if (found.question.archivedAt) {
        throw new AppError('CONFLICT', `Question ${i + 1} is archived`, { position: i });
      }
      const version =
        input.version === undefined || input.version === found.version.version
          ? found.version
          : await this.questions.findVersion(orgId, input.questionId, input.version);
      if (!version) {
        throw new AppError('NOT_FOUND', `Question ${i + 1} has no version ${input.version}`, { position: i });
      }
      pinned.push({
        questionId: input.questionId,
        questionVersionId: version.id,
        isPractice: input.isPractice,
        prepSeconds: input.prepSeconds,
        answerSeconds: input.answerSeconds ?? found.question.expectedSeconds ?? DEFAULT_ANSWER_SECONDS,
        retakesAllowed: input.retakesAllowed,
      });
    }
    return pinned;
  }
}

const illegal = (from: InterviewStatus, to: InterviewStatus) =>
  new AppError('ILLEGAL_TRANSITION', `A ${from} interview cannot become ${to}`, { from, to });

export function toStoredSettings(s: TInterviewSettings): InterviewSettings {
  return {
    language: s.language,
    ...(s.deadline ? { deadline: new Date(s.deadline).toISOString() } : {}),
    emotionPolicy: s.emotionPolicy,
    weights: { ...s.weights },
  };
}

/** Reads stored settings, filling what older rows may lack. */
export function toSettings(s: InterviewSettings): TInterviewSettings {
  return {
    language: s.language ?? 'en',
    deadline: s.deadline ?? null,
    emotionPolicy: s.emotionPolicy ?? 'off',
    weights: {
      answers: s.weights?.answers ?? 1,
      emotion: s.weights?.emotion ?? 0,
      behavioral: s.weights?.behavioral ?? 0,
    },
  };
}

const POLICY_ORDER: TEmotionPolicy[] = ['off', 'insights', 'scored'];

/** The interview may narrow the organisation's emotion policy, never widen it. */
export function effectivePolicy(
  org: TEmotionPolicy | undefined,
  interview: TEmotionPolicy | undefined,
): TEmotionPolicy {
  const o = POLICY_ORDER.indexOf(org ?? 'insights');
  const i = POLICY_ORDER.indexOf(interview ?? 'off');
  return POLICY_ORDER[Math.min(o, i)] ?? 'off';
}

function toInterviewFields(i: InterviewRecord): Omit<TInterview, 'questions'> {
  return {
    id: i.id,
    title: i.title,
    description: i.description,
    status: i.status,
    settings: toSettings(i.settings),
    publishedAt: i.publishedAt?.toISOString() ?? null,
    archivedAt: i.archivedAt?.toISOString() ?? null,
    createdAt: i.createdAt.toISOString(),
    updatedAt: i.updatedAt.toISOString(),
  };
}

export function toInterview({ interview, questions }: InterviewWithQuestions): TInterview {
  return {
    ...toInterviewFields(interview),
    questions: questions.map((q) => ({
      position: q.position,
      questionId: q.questionId,
      questionVersionId: q.questionVersionId,
      version: q.version,
      text: q.text,
      isPractice: q.isPractice,
      prepSeconds: q.prepSeconds,
      answerSeconds: q.answerSeconds,
      retakesAllowed: q.retakesAllowed,
    })),
  };
}
