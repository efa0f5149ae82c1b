/**
 * `node --import tsx bench/scoring.bench.ts [-- --rounds N]`: latency of the offline scorer per
 * answer, and whether it ranks every qN_good answer above qN_weak, on ../shared/data/speech.
 *
 * - load_ms: loading the sentence-embedding model from its npm package (once per process);
 * - cold_ms: the first answer of each question (its rubric is embedded then, and cached);
 * - warm p50/p95/mean: every answer scored N more times with the rubric cached (one call at a
 *   time, in one thread: what a scoring worker does per answer).
 * The last stdout line is one JSON object.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { ZRubric } from '@parley/contracts';
import { OfflineAnswerAnalyzer, UseLiteEmbedder } from '../apps/server/src/scoring/index.ts';
import { SPEECH_DATA_DIR, SPEECH_QUESTIONS } from '../apps/server/src/scoring/testing/speech-rubrics.ts';

const roundsArg = process.argv.indexOf('--rounds');
const rounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 20;

const answers = readdirSync(SPEECH_DATA_DIR)
  .flatMap((f) => {
    const m = /^(q\d+)_(good|weak)\.txt$/.exec(f);
    return m ? [{ q: m[1]!, kind: m[2]!, text: readFileSync(new URL(f, SPEECH_DATA_DIR), 'utf8').trim() }] : [];
  })
  .sort((a, b) => (a.q + a.kind).localeCompare(b.q + b.kind));

const embedder = new UseLiteEmbedder();
let t = performance.now();
await embedder.load();
const loadMs = performance.now() - t;
const analyzer = new OfflineAnswerAnalyzer(embedder);

const overall = new Map<string, number>();
const cold: number[] = [];
for (const a of answers) {
  const spec = SPEECH_QUESTIONS[a.q]!;
  const rubric = ZRubric.parse(spec.rubric);
  t = performance.now();
  const r = await analyzer.analyze({ question: spec.question, rubric, transcript: a.text });
  const ms = performance.now() - t;
  if (!overall.has(`${a.q}_good`) && !overall.has(`${a.q}_weak`)) cold.push(ms);
  overall.set(`${a.q}_${a.kind}`, r.overall);
}

const warm: number[] = [];
for (let i = 0; i < rounds; i++) {
  for (const a of answers) {
    const spec = SPEECH_QUESTIONS[a.q]!;
    const rubric = ZRubric.parse(spec.rubric);
    t = performance.now();
    await analyzer.analyze({ question: spec.question, rubric, transcript: a.text });
    warm.push(performance.now() - t);
  }
}
warm.sort((a, b) => a - b);
const pct = (p: number) => warm[Math.min(warm.length - 1, Math.floor((p / 100) * warm.length))]!;
const round1 = (x: number) => Math.round(x * 10) / 10;

const pairs = [...new Set(answers.map((a) => a.q))]
  .filter((q) => overall.has(`${q}_good`) && overall.has(`${q}_weak`))
  .map((q) => ({ q, good: overall.get(`${q}_good`)!, weak: overall.get(`${q}_weak`)! }));
for (const p of pairs)
  console.log(`${p.q}: good ${p.good} vs weak ${p.weak} ${p.good > p.weak ? 'OK' : 'WRONG ORDER'}`);
console.log(`model load ${round1(loadMs)} ms; cold (rubric embedded) ${cold.map(round1).join(', ')} ms`);
console.log(`warm per answer over ${warm.length} calls: p50 ${round1(pct(50))} ms, p95 ${round1(pct(95))} ms`);
console.log(
  JSON.stringify({
    answers: answers.length,
    load_ms: round1(loadMs),
    cold_ms: cold.map(round1),
    warm_p50_ms: round1(pct(50)),
    warm_p95_ms: round1(pct(95)),
    warm_mean_ms: round1(warm.reduce((s, x) => s + x, 0) / warm.length),
    pairs_ranked_correctly: `${pairs.filter((p) => p.good > p.weak).length}/${pairs.length}`,
    pairs,
  }),
);
