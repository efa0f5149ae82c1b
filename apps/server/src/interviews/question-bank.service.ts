import type {
  TCreateQuestionBody,
  TQuestion,
  TQuestionQuery,
  TQuestionRubric,
  TQuestionVersion,
  TUpdateQuestionBody,
} from '@parley/contracts';
import { isDeepStrictEqual } from 'node:util';
import type { Rubric } from '../infra/db/schema.ts';
import { requireStaff, type Actor } from '../shared/actor.ts';
import { AppError } from '../shared/app-error.ts';
import type { Clock } from './clock.ts';
import type { QuestionBankRepository, QuestionVersionRecord, QuestionWithVersion } from './question-bank.repository.ts';

/**
 * The organisation's question bank. A question's text and rubric live in immutable versions: an
 * edit of either inserts a new version, so an answer scored against version n keeps being
 * explained by version n.
 */
export class QuestionBankService {
  constructor(
    private readonly repo: QuestionBankRepository,
    private readonly clock: Clock,
  ) {}

  async create(actor: Actor, input: TCreateQuestionBody): Promise<TQuestion> {
    requireStaff(actor);
    const created = await this.repo.create(actor.orgId, {
      text: input.text,
      rubric: toStoredRubric(input.rubric),
      category: input.category,
      difficulty: input.difficulty ?? null,
      tags: unique(input.tags),
      expectedSeconds: input.expectedSeconds ?? null,
      createdBy: actor.userId,
      at: this.clock(),
    });
    return toQuestion(created);
  }

  async get(actor: Actor, questionId: string): Promise<TQuestion> {
    requireStaff(actor);
    return toQuestion(await this.mustFind(actor.orgId, questionId));
  }

  async search(actor: Actor, query: TQuestionQuery): Promise<TQuestion[]> {
    requireStaff(actor);
    const rows = await this.repo.list(actor.orgId, {
      text: query.q || undefined,
      category: query.category || undefined,
      tag: query.tag || undefined,
      difficulty: query.difficulty,
      archived: query.archived ?? false,
      limit: query.limit,
      offset: query.offset,
    });
    return rows.map(toQuestion);
  }

  /** A changed text or rubric makes a new version; metadata is edited in place. Archived questions are read-only. */
  async update(actor: Actor, questionId: string, input: TUpdateQuestionBody): Promise<TQuestion> {
    requireStaff(actor);
    const existing = await this.mustFind(actor.orgId, questionId);
    if (existing.question.archivedAt) throw new AppError('CONFLICT', 'Restore the question before editing it');
    const metadata = {
      category: input.category,
      difficulty: input.difficulty,
      tags: input.tags ? unique(input.tags) : undefined,
      expectedSeconds: input.expectedSeconds,
    };
    const text = input.text ?? existing.version.text;
    const rubric = input.rubric ? toStoredRubric(input.rubric) : existing.version.rubric;
    const contentChanged = text !== existing.version.text || !isDeepStrictEqual(rubric, existing.version.rubric);
    const at = this.clock();
    if (contentChanged) {
      const updated = await this.repo.addVersion(actor.orgId, questionId, {
        text,
        rubric,
        createdBy: actor.userId,
        at,
        metadata,
      });
      if (!updated) throw notFound();
    } else if (!(await this.repo.updateMetadata(actor.orgId, questionId, metadata, at))) {
      throw notFound();
    }
    return toQuestion(await this.mustFind(actor.orgId, questionId));
  }

  /** Archived questions leave the bank's default listing; interviews that use them are unchanged. */
  async archive(actor: Actor, questionId: string): Promise<TQuestion> {
    requireStaff(actor);
    const at = this.clock();
    if (!(await this.repo.setArchived(actor.orgId, questionId, at, at))) throw notFound();
    return toQuestion(await this.mustFind(actor.orgId, questionId));
  }

  async restore(actor: Actor, questionId: string): Promise<TQuestion> {
    requireStaff(actor);
    if (!(await this.repo.setArchived(actor.orgId, questionId, null, this.clock()))) throw notFound();
    return toQuestion(await this.mustFind(actor.orgId, questionId));
  }

  async versions(actor: Actor, questionId: string): Promise<TQuestionVersion[]> {
    requireStaff(actor);
    await this.mustFind(actor.orgId, questionId);
    return (await this.repo.listVersions(actor.orgId, questionId)).map(toVersion);
  }

  private async mustFind(orgId: string, questionId: string): Promise<QuestionWithVersion> {
    const found = await this.repo.find(orgId, questionId);
    if (!found) throw notFound();
    return found;
  }
}

const notFound = () => new AppError('NOT_FOUND', 'Question not found');
const unique = (xs: string[]) => [...new Set(xs)];

/** Drops absent optional fields so that equal rubrics compare equal and the JSON stays minimal. */
export function toStoredRubric(rubric: TQuestionRubric): Rubric {
  return {
    criteria: rubric.criteria.map((c) => ({
      key: c.key,
      name: c.name,
      ...(c.description ? { description: c.description } : {}),
      weight: c.weight,
      anchors: Object.fromEntries(
        Object.entries(c.anchors).filter((e): e is [string, string] => typeof e[1] === 'string'),
      ) as Rubric['criteria'][number]['anchors'],
    })),
    idealAnswer: rubric.idealAnswer,
    keyConcepts: unique(rubric.keyConcepts),
  };
}

export function toVersion(v: QuestionVersionRecord): TQuestionVersion {
  return {
    id: v.id,
    questionId: v.questionId,
    version: v.version,
    text: v.text,
    rubric: v.rubric,
    createdAt: v.createdAt.toISOString(),
  };
}

export function toQuestion({ question: q, version }: QuestionWithVersion): TQuestion {
  return {
    id: q.id,
    category: q.category,
    difficulty: q.difficulty,
    tags: q.tags,
    expectedSeconds: q.expectedSeconds,
    archivedAt: q.archivedAt?.toISOString() ?? null,
    createdAt: q.createdAt.toISOString(),
    updatedAt: q.updatedAt.toISOString(),
    current: toVersion(version),
  };
}
