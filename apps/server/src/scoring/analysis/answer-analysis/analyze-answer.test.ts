import { ZRubric } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../../shared/app-error.ts';
import { llmFailureOf } from '../../llm/llm-error.ts';
import { OpenAiLlm } from '../../llm/openai-llm.ts';
import { FakeLlmServer, openAiCompletion } from '../../testing/fake-llm-server.ts';
import { analyzeAnswer } from './analyze-answer.ts';
import { PROMPT_VERSION } from './prompt.ts';

const rubric = ZRubric.parse({
  version: 'r-7',
  criteria: [
    { name: 'Accuracy', weight: 3, anchors: { '1': 'wrong', '5': 'correct and complete' } },
    { name: 'Clarity', anchors: { '1': 'confusing', '5': 'clear' } },
  ],
  idealAnswer: 'Threads share memory; processes do not.',
  keyConcepts: ['shared memory'],
});
const transcript = 'Threads share the memory of their process. Processes are isolated from each other.';
const request = { question: 'Process vs thread?', rubric, transcript };

const valid = {
  criteria: [
    {
      criterion: 'Accuracy',
      score: 4,
      evidence: ['threads share the memory of their process'],
      rationale: 'Near anchor 5.',
    },
    { criterion: 'Clarity', score: 2, evidence: [], rationale: 'Terse.' },
  ],
  strengths: ['Knows memory sharing'],
  gaps: ['No mention of synchronization'],
  followUpQuestion: 'What goes wrong when two threads write the same variable?',
};

describe('answer analysis through a model', () => {
  const server = new FakeLlmServer();
  let llm: OpenAiLlm;
  beforeAll(async () => {
    llm = new OpenAiLlm({
      apiKey: 'sk-test',
      model: 'gpt-4o-mini',
      baseUrl: `${await server.start()}/v1`,
      timeoutMs: 5_000,
    });
  });
  afterAll(() => server.stop());

  it('returns the validated analysis with overall score and provenance', async () => {
    server.script(openAiCompletion(valid, 'gpt-4o-mini-2024-07-18'));
    const a = await analyzeAnswer(llm, request);
    expect(a.criteria.map((c) => [c.criterion, c.score])).toEqual([
      ['Accuracy', 4],
      ['Clarity', 2],
    ]);
    expect(a.overall).toBe(3.5); // (4·3 + 2·1) / 4
    expect(a.provenance).toEqual({
      provider: 'openai',
      model: 'gpt-4o-mini-2024-07-18',
      promptVersion: PROMPT_VERSION,
      rubricVersion: 'r-7',
    });
    const user = JSON.stringify(server.requests[0]!.body.messages);
    expect(user).toContain('correct and complete');
    expect(user).toContain('Processes are isolated from each other.');
  });

  it('re-asks after malformed JSON and tells the model why', async () => {
    server.script(openAiCompletion('{"criteria": ['), openAiCompletion(valid));
    const a = await analyzeAnswer(llm, request);
    expect(a.overall).toBe(3.5);
    expect(server.requests).toHaveLength(2);
    expect(JSON.stringify(server.requests[1]!.body.messages)).toContain('previous reply was rejected');
  });

  it.each([
    ['a score outside 0–5', { ...valid, criteria: [{ ...valid.criteria[0]!, score: 7 }, valid.criteria[1]!] }],
    ['a missing criterion', { ...valid, criteria: [valid.criteria[0]!] }],
    [
      'a criterion not in the rubric',
      { ...valid, criteria: [...valid.criteria, { ...valid.criteria[1]!, criterion: 'Charm' }] },
    ],
    [
      'invented evidence',
      {
        ...valid,
        criteria: [{ ...valid.criteria[0]!, evidence: ['threads never share anything'] }, valid.criteria[1]!],
      },
    ],
    [
      'a multi-line rationale',
      { ...valid, criteria: [{ ...valid.criteria[0]!, rationale: 'a\nb' }, valid.criteria[1]!] },
    ],
  ])('never returns output with %s: retries, then fails with invalid_output', async (_what, bad) => {
    server.script(openAiCompletion(bad));
    const e = await analyzeAnswer(llm, request, { maxAttempts: 3 }).catch((err: unknown) => err);
    expect(isAppError(e) && e.code).toBe('UPSTREAM_FAILED');
    expect(llmFailureOf(e)?.reason).toBe('invalid_output');
    expect(server.requests).toHaveLength(3);
  });

  it('accepts a bad first reply when the retry is valid', async () => {
    const bad = { ...valid, criteria: [{ ...valid.criteria[0]!, evidence: ['made up words'] }, valid.criteria[1]!] };
    server.script(openAiCompletion(bad), openAiCompletion(valid));
    const a = await analyzeAnswer(llm, request);
    expect(a.criteria[0]!.evidence).toEqual(['threads share the memory of their process']);
    expect(JSON.stringify(server.requests[1]!.body.messages)).toContain('not a quote from the transcript');
  });

  it('does not re-ask on a transport failure: the error goes to the caller', async () => {
    server.script({ status: 401, body: { error: { message: 'bad key' } } });
    const e = await analyzeAnswer(llm, request).catch((err: unknown) => err);
    expect(llmFailureOf(e)?.reason).toBe('auth');
    expect(server.requests).toHaveLength(1);
  });
});
