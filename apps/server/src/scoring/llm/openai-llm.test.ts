import { openAiCompletion, openAiError } from '../testing/fake-llm-server.ts';
import { OpenAiLlm } from './openai-llm.ts';
import { structuredLlmContract } from './structured-llm.contract.ts';

structuredLlmContract('OpenAI', {
  path: '/v1/chat/completions',
  create: (baseUrl, o) =>
    new OpenAiLlm({
      apiKey: 'sk-test',
      model: 'gpt-4o-mini',
      baseUrl: `${baseUrl}/v1`,
      timeoutMs: o.timeoutMs ?? 5_000,
      maxRetries: o.maxRetries,
    }),
  reply: (value) => openAiCompletion(value),
  malformed: () => openAiCompletion('{"colour": "blue"'),
  error: openAiError,
  sentSchema: (r) => (r.body.response_format as { json_schema: { schema: unknown } }).json_schema.schema,
});
