import { ZAnswerAnalysis, type TAnswerAnalysis, type TRubric } from '@parley/contracts';
import type { AnalysisRequest, AnswerAnalyzer } from '../answer-analyzer.ts';
import { overallScore, rubricVersion } from '../rubric-version.ts';
import { clamp01, contentStems, cosine, sentences, words } from '../text/text.ts';
import type { SentenceEmbedder } from './sentence-embedder.ts';

/** Stands in for the prompt version: bump when a weight, threshold or signal changes. */
export const OFFLINE_SCORER_VERSION = 'offline-scorer/v1';

/**
 * How the signals (each 0–1) make a criterion score: 5 × weighted mean. Anchors carry what is
 * specific to a criterion; the rest describe the answer as a whole.
 */
export const OFFLINE_WEIGHTS = { anchors: 0.3, ideal: 0.3, concepts: 0.25, structure: 0.15 } as const;

// Cosine similarities of Universal Sentence Encoder Lite between an answer and a reference
// rarely leave [0.1, 0.8]; this range is stretched to 0–1.
const SIM_FLOOR = 0.15;
const SIM_CEIL = 0.75;
// Softmax temperature over anchor similarities: small, because anchors of one criterion are
// close to each other in meaning and differ by a few hundredths.
const ANCHOR_TEMPERATURE = 0.03;
// A concept counts as covered when half of its content words appear (any word form), or when
// one sentence of the answer says it in other words (similarity at or above this).
const CONCEPT_LEXICAL_MIN = 0.5;
const CONCEPT_SEMANTIC_MIN = 0.6;
// Length a complete spoken answer has when the recruiter wrote no ideal answer to compare with
// (about 30–40 s of speech at a conversational pace).
const DEFAULT_REFERENCE_WORDS = 80;

const HEDGES =
  /\b(i think|i guess|i believe|not (?:really |quite )?sure|maybe|perhaps|kind of|sort of|i don'?t know|no idea|probably|i have not (?:really )?|i haven'?t)\b/gi;
const REASONING =
  /\b(because|since|so that|therefore|which means|that means|as a result|for example|for instance|such as|first|second|then|finally|while|whereas|however|but|instead|trade-?offs?|in order to)\b/gi;

interface RubricVectors {
  /** Null when the rubric has no ideal answer: that signal is then left out, not counted as 0. */
  ideal: number[] | null;
  anchors: { level: number; vector: number[] }[][];
  concepts: number[][];
}

export interface OfflineScorerOptions {
  /** Rubric embeddings kept between calls (answers to one question share a rubric). */
  rubricCacheSize?: number;
}

/**
 * The default answer analyzer: deterministic, explainable, no network. Signals: key-concept
 * coverage with word-form matching (Porter stems), sentence-embedding similarity to the ideal
 * answer and to each rubric anchor, and structure/length (reasoning markers, hedging, length
 * against the ideal answer).
 */
export class OfflineAnswerAnalyzer implements AnswerAnalyzer {
  readonly provider = 'offline' as const;
  readonly model: string;
  readonly #embedder: SentenceEmbedder;
  readonly #cache = new Map<string, Promise<RubricVectors>>();
  readonly #cacheSize: number;

  constructor(embedder: SentenceEmbedder, options: OfflineScorerOptions = {}) {
    this.#embedder = embedder;
    this.model = `${OFFLINE_SCORER_VERSION}+${embedder.model}`;
    this.#cacheSize = options.rubricCacheSize ?? 32;
  }

  async analyze({ question, rubric, transcript }: AnalysisRequest): Promise<TAnswerAnalysis> {
    const provenance = {
      provider: this.provider,
      model: this.model,
      promptVersion: OFFLINE_SCORER_VERSION,
      rubricVersion: rubricVersion(rubric),
    };
    const parts = sentences(transcript);
    if (parts.length === 0) return notAnswered(rubric, provenance);

    const [ref, answerVectors] = await Promise.all([
      this.#rubricVectors(rubric, provenance.rubricVersion),
      this.#embedder.embed([transcript.trim(), ...parts]),
    ]);
    const [answer, ...sentenceVectors] = answerVectors as [number[], ...number[][]];

    const idealSim = ref.ideal ? cosine(answer, ref.ideal) : undefined;
    const concepts = conceptCoverage(rubric.keyConcepts, ref.concepts, transcript, parts, sentenceVectors);
    const conceptScore = concepts.length ? concepts.reduce((s, c) => s + c.credit, 0) / concepts.length : undefined;
    const shape = structure(transcript, rubric.idealAnswer);

    const criteria = rubric.criteria.map((criterion, i) => {
      const anchors = ref.anchors[i]!;
      const sims = anchors.map((a) => cosine(answer, a.vector));
      const level = softmaxLevel(
        anchors.map((a) => a.level),
        sims,
      );
      const levels = anchors.map((a) => a.level);
      const lo = Math.min(...levels);
      const hi = Math.max(...levels);
      const anchorPos = hi > lo ? (level - lo) / (hi - lo) : 0.5;
      const signals: [number, number][] = [
        [OFFLINE_WEIGHTS.anchors, anchorPos],
        [OFFLINE_WEIGHTS.structure, shape.score],
      ];
      if (idealSim !== undefined) signals.push([OFFLINE_WEIGHTS.ideal, stretch(idealSim)]);
      if (conceptScore !== undefined) signals.push([OFFLINE_WEIGHTS.concepts, conceptScore]);
      const combined = signals.reduce((s, [w, v]) => s + w * v, 0) / signals.reduce((s, [w]) => s + w, 0);
      const score = Math.round(5 * clamp01(combined) * 10) / 10;

      // Evidence: the sentence closest to the best anchor, then sentences naming a covered concept.
      const best = anchors.reduce((a, b) => (b.level > a.level ? b : a));
      const ranked = parts
        .map((text, k) => ({ text, sim: cosine(sentenceVectors[k]!, best.vector) }))
        .sort((a, b) => b.sim - a.sim);
      const evidence = unique([ranked[0]!.text, ...concepts.flatMap((c) => (c.sentence ? [c.sentence] : []))]).slice(
        0,
        2,
      );
      const covered = concepts.filter((c) => c.credit >= CONCEPT_LEXICAL_MIN).length;
      const rationale =
        `Closest to anchor level ${level.toFixed(1)}` +
        (concepts.length ? `, covers ${covered}/${concepts.length} key concepts` : '') +
        (idealSim !== undefined ? `, similarity to the ideal answer ${idealSim.toFixed(2)}` : '') +
        (shape.hedges ? `, ${shape.hedges} hedge${shape.hedges > 1 ? 's' : ''}` : '') +
        '.';
      return { criterion: criterion.name, score, evidence: evidence.map((e) => e.slice(0, 500)), rationale };
    });

    const missing = concepts.filter((c) => c.credit < CONCEPT_LEXICAL_MIN).map((c) => c.concept);
    const hit = concepts.filter((c) => c.credit >= CONCEPT_LEXICAL_MIN).map((c) => c.concept);
    const strengths: string[] = [];
    if (hit.length) strengths.push(`Covers ${list(hit)}`);
    if (idealSim !== undefined && idealSim >= 0.55) strengths.push('Close in meaning to the ideal answer');
    if (shape.reasoning >= 2) strengths.push('Explains reasons and consequences, not only facts');
    if (shape.lengthScore >= 0.9 && shape.hedges === 0) strengths.push('Complete and assured delivery');
    const gaps: string[] = [];
    if (missing.length) gaps.push(`Does not mention ${list(missing)}`);
    if (idealSim !== undefined && idealSim < 0.35) gaps.push('Far in meaning from the ideal answer');
    if (shape.hedges) gaps.push('Hedges or admits uncertainty');
    if (shape.lengthScore < 0.6) gaps.push(ref.ideal ? 'Much shorter than the ideal answer' : 'Very short');
    if (shape.reasoning === 0) gaps.push('States without explaining why');

    return ZAnswerAnalysis.parse({
      criteria,
      overall: overallScore(rubric, new Map(criteria.map((c) => [c.criterion, c.score]))),
      strengths: strengths.slice(0, 5),
      gaps: gaps.slice(0, 5),
      followUpQuestion: missing.length
        ? `How does ${missing[0]} relate to your answer to "${question.slice(0, 300)}"?`
        : 'Can you walk through a concrete example from your own work where this mattered?',
      provenance,
    });
  }

  #rubricVectors(rubric: TRubric, version: string): Promise<RubricVectors> {
    const cached = this.#cache.get(version);
    if (cached) return cached;
    const anchorTexts = rubric.criteria.map((c) =>
      Object.entries(c.anchors)
        .map(([level, text]) => ({ level: Number(level), text: text }))
        .sort((a, b) => a.level - b.level),
    );
    const hasIdeal = rubric.idealAnswer.trim().length > 0;
    const texts = [
      ...(hasIdeal ? [rubric.idealAnswer] : []),
      ...anchorTexts.flat().map((a) => a.text),
      ...rubric.keyConcepts,
    ];
    const promise = this.#embedder.embed(texts).then((v) => {
      let k = hasIdeal ? 1 : 0;
      return {
        ideal: hasIdeal ? v[0]! : null,
        anchors: anchorTexts.map((list) => list.map((a) => ({ level: a.level, vector: v[k++]! }))),
        concepts: rubric.keyConcepts.map((_, i) => v[k + i]!),
      };
    });
    promise.catch(() => this.#cache.delete(version));
    this.#cache.set(version, promise);
    if (this.#cache.size > this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value!);
    return promise;
  }
}

function notAnswered(rubric: TRubric, provenance: TAnswerAnalysis['provenance']): TAnswerAnalysis {
  return ZAnswerAnalysis.parse({
    criteria: rubric.criteria.map((c) => ({ criterion: c.name, score: 0, evidence: [], rationale: 'Not answered.' })),
    overall: 0,
    strengths: [],
    gaps: ['Not answered'],
    followUpQuestion: 'Would you like to try answering this question again?',
    provenance,
  });
}

const stretch = (sim: number) => clamp01((sim - SIM_FLOOR) / (SIM_CEIL - SIM_FLOOR));

function softmaxLevel(levels: number[], sims: number[]): number {
  const top = Math.max(...sims);
  const w = sims.map((s) => Math.exp((s - top) / ANCHOR_TEMPERATURE));
  const total = w.reduce((a, b) => a + b, 0);
  return levels.reduce((s, level, i) => s + level * w[i]!, 0) / total;
}

interface ConceptHit {
  concept: string;
  /** 0–1: share of the concept's content stems present, or its semantic match. */
  credit: number;
  sentence?: string;
}

function conceptCoverage(
  concepts: string[],
  conceptVectors: number[][],
  transcript: string,
  parts: string[],
  sentenceVectors: number[][],
): ConceptHit[] {
  const answerStems = new Set(contentStems(transcript));
  const partStems = parts.map((p) => new Set(contentStems(p)));
  return concepts.map((concept, i) => {
    const stems = [...new Set(contentStems(concept))];
    const lexical = stems.length ? stems.filter((s) => answerStems.has(s)).length / stems.length : 0;
    const sims = sentenceVectors.map((v) => cosine(v, conceptVectors[i]!));
    const bestSim = Math.max(...sims);
    const semantic = bestSim >= CONCEPT_SEMANTIC_MIN ? 1 : 0;
    const credit = Math.max(lexical >= CONCEPT_LEXICAL_MIN ? lexical : 0, semantic);
    let sentence: string | undefined;
    if (credit > 0) {
      const byWords = partStems.map((set) => stems.filter((s) => set.has(s)).length);
      const k = lexical >= CONCEPT_LEXICAL_MIN ? byWords.indexOf(Math.max(...byWords)) : sims.indexOf(bestSim);
      sentence = parts[k];
    }
    return { concept, credit, sentence };
  });
}

interface Structure {
  score: number;
  lengthScore: number;
  reasoning: number;
  hedges: number;
}

function structure(transcript: string, idealAnswer: string): Structure {
  const n = words(transcript).length;
  const reference = words(idealAnswer).length || DEFAULT_REFERENCE_WORDS;
  const ratio = n / reference;
  // Full marks from 60 % to 250 % of the ideal length; rambling beyond that costs a little.
  const lengthScore = ratio < 0.6 ? ratio / 0.6 : ratio <= 2.5 ? 1 : Math.max(0.7, 1 - (ratio - 2.5) * 0.2);
  const reasoning = transcript.match(REASONING)?.length ?? 0;
  const hedges = transcript.match(HEDGES)?.length ?? 0;
  const score = clamp01(0.5 * lengthScore + 0.5 * Math.min(1, reasoning / 3) - 0.2 * hedges);
  return { score, lengthScore, reasoning, hedges };
}

const unique = (xs: string[]) => [...new Set(xs)];

function list(xs: string[]): string {
  const shown = xs.slice(0, 4).map((x) => `"${x}"`);
  return xs.length > 4 ? `${shown.join(', ')} and ${xs.length - 4} more` : shown.join(', ');
}
