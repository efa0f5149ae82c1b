import { afterAll, beforeAll } from 'vitest';
import { answerAnalyzerContract } from './answer-analyzer.contract.ts';
import { AnthropicLlm } from './llm/anthropic-llm.ts';
import { OpenAiLlm } from './llm/openai-llm.ts';
import { LlmAnswerAnalyzer } from './llm-answer-analyzer.ts';
import { anthropicToolUse, FakeLlmServer, openAiCompletion, type RecordedRequest } from './testing/fake-llm-server.ts';

/**
 * A stand-in model for the protocol server: reads the criteria and transcript from the prompt
 * and answers in the schema, quoting the transcript's first sentence. It exercises the whole
 * path (prompt, SDK, HTTP, schema, checks), not the judgement of a real model.
 */
function fakeJudgement(request: RecordedRequest) {
  const messages = request.body.messages as { role: string; content: string }[];
  const user = messages.find((m) => m.role === 'user')!.content;
  const transcript = /<transcript>\n([\s\S]*?)\n<\/transcript>/.exec(user)![1]!;
  const list = JSON.parse(`[${/exactly these names: (.*)\.$/m.exec(user)![1]!}]`) as string[];
  return {
    criteria: list.map((criterion, i) => ({
      criterion,
      score: 4 - i,
      evidence: [transcript.split(/(?<=\.)\s/)[0]!],
      rationale: 'Matches the upper anchor.',
    })),
    strengths: ['Explains the trade-off'],
    gaps: ['No numbers'],
    followUpQuestion: 'How would you pick which columns to index?',
  };
}

const server = new FakeLlmServer();
let baseUrl = '';
beforeAll(async () => {
  baseUrl = await server.start();
  server.script((req) =>
    req.path.endsWith('/messages')
      ? anthropicToolUse('answer_analysis', fakeJudgement(req))
      : openAiCompletion(fakeJudgement(req)),
  );
});
afterAll(() => server.stop());

answerAnalyzerContract(
  'OpenAI',
  () =>
    new LlmAnswerAnalyzer(
      new OpenAiLlm({ apiKey: 'sk-test', model: 'gpt-4o-mini', baseUrl: `${baseUrl}/v1`, timeoutMs: 5_000 }),
    ),
);
answerAnalyzerContract(
  'Anthropic',
  () =>
    new LlmAnswerAnalyzer(new AnthropicLlm({ apiKey: 'sk-ant-test', model: 'claude-test', baseUrl, timeoutMs: 5_000 })),
);
