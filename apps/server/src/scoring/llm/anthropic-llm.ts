import Anthropic from '@anthropic-ai/sdk';
import { fromSdkFailure, llmError } from './llm-error.ts';
import type { LlmClientOptions, StructuredLlm, StructuredReply, StructuredRequest } from './structured-llm.ts';

/**
 * Anthropic Messages API. Structured output through one forced tool: the model "calls"
 * `schemaName` and the tool input is the object.
 */
export class AnthropicLlm implements StructuredLlm {
  readonly provider = 'anthropic' as const;
  readonly model: string;
  readonly #client: Anthropic;

  constructor(options: LlmClientOptions) {
    this.model = options.model;
    this.#client = new Anthropic({
      apiKey: options.apiKey,
      baseURL: options.baseUrl,
      timeout: options.timeoutMs,
      maxRetries: options.maxRetries ?? 2,
    });
  }

  async generate(request: StructuredRequest, signal?: AbortSignal): Promise<StructuredReply> {
    let message: Anthropic.Message;
    try {
      message = await this.#client.messages.create(
        {
          model: this.model,
          max_tokens: request.maxOutputTokens,
          system: request.system,
          messages: [{ role: 'user', content: request.user }],
          tools: [
            {
              name: request.schemaName,
              description: request.schemaDescription,
              input_schema: { ...request.jsonSchema, type: 'object' },
            },
          ],
          tool_choice: { type: 'tool', name: request.schemaName },
        },
        { signal },
      );
    } catch (e) {
      throw toAppError(e);
    }
    const invalid = (why: string) => llmError({ provider: 'anthropic', reason: 'invalid_output' }, `anthropic: ${why}`);
    if (message.stop_reason === 'max_tokens') throw invalid('output was cut at the token limit');
    const call = message.content.find((b) => b.type === 'tool_use' && b.name === request.schemaName);
    if (!call || call.type !== 'tool_use') throw invalid(`no ${request.schemaName} tool call in the reply`);
    return { value: call.input, model: message.model || this.model };
  }
}

function toAppError(e: unknown): unknown {
  if (e instanceof Anthropic.APIUserAbortError) return e;
  if (e instanceof Anthropic.APIConnectionTimeoutError)
    return fromSdkFailure('anthropic', { kind: 'timeout', message: e.message });
  if (e instanceof Anthropic.APIConnectionError)
    return fromSdkFailure('anthropic', { kind: 'connection', message: e.message });
  if (e instanceof Anthropic.APIError) {
    return fromSdkFailure('anthropic', {
      kind: 'status',
      status: e.status as number | undefined,
      headers: e.headers as Headers | undefined,
      message: e.message,
    });
  }
  return e;
}
