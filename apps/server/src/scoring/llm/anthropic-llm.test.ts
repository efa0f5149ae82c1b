import { anthropicError, anthropicText, anthropicToolUse } from '../testing/fake-llm-server.ts';
import { AnthropicLlm } from './anthropic-llm.ts';
import { structuredLlmContract } from './structured-llm.contract.ts';

structuredLlmContract('Anthropic', {
  path: '/v1/messages',
  create: (baseUrl, o) =>
    new AnthropicLlm({
      apiKey: 'sk-ant-test',
      model: 'claude-test',
      baseUrl,
      timeoutMs: o.timeoutMs ?? 5_000,
      maxRetries: o.maxRetries,
    }),
  reply: (value) => anthropicToolUse('colour', value),
  malformed: () => anthropicText('The colour is blue.'),
  error: anthropicError,
  sentSchema: (r) => (r.body.tools as { input_schema: unknown }[])[0]!.input_schema,
});
