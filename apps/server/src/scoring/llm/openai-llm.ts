import OpenAI from 'openai';
import { fromSdkFailure, llmError } from './llm-error.ts';
import type { LlmClientOptions, StructuredLlm, StructuredReply, StructuredRequest } from './structured-llm.ts';

/** OpenAI (or any server speaking its chat-completions API) with strict JSON-schema output. */
export class OpenAiLlm implements StructuredLlm {
  readonly provider = 'openai' as const;
  readonly model: string;
  readonly #client: OpenAI;

  constructor(options: LlmClientOptions) {
    this.model = options.model;
    this.#client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseUrl,
      timeout: options.timeoutMs,
      maxRetries: options.maxRetries ?? 2,
    });
  }

  async generate(request: StructuredRequest, signal?: AbortSignal): Promise<StructuredReply> {
    let completion: OpenAI.Chat.Completions.ChatCompletion;
    try {
      completion = await this.#client.chat.completions.create(
        {
          model: this.model,
          max_completion_tokens: request.maxOutputTokens,
          messages: [
            { role: 'system', content: request.system },
            { role: 'user', content: request.user },
          ],
          response_format: {
            type: 'json_schema',
            json_schema: {
              name: request.schemaName,
              description: request.schemaDescription,
              schema: request.jsonSchema,
              strict: true,
            },
          },
        },
        { signal },
      );
    } catch (e) {
      throw toAppError(e);
    }
    const choice = completion.choices[0];
    const invalid = (why: string) => llmError({ provider: 'openai', reason: 'invalid_output' }, `openai: ${why}`);
    if (!choice) throw invalid('no choices in the reply');
    if (choice.message.refusal) throw invalid(`model refused: ${choice.message.refusal}`);
    if (choice.finish_reason === 'length') throw invalid('output was cut at the token limit');
    const content = choice.message.content;
    if (!content) throw invalid('empty message content');
    try {
      return { value: JSON.parse(content) as unknown, model: completion.model || this.model };
    } catch {
      throw invalid('message content is not JSON');
    }
  }
}

function toAppError(e: unknown): unknown {
  if (e instanceof OpenAI.APIUserAbortError) return e;
  if (e instanceof OpenAI.APIConnectionTimeoutError)
    return fromSdkFailure('openai', { kind: 'timeout', message: e.message });
  if (e instanceof OpenAI.APIConnectionError)
    return fromSdkFailure('openai', { kind: 'connection', message: e.message });
  if (e instanceof OpenAI.APIError) {
    return fromSdkFailure('openai', {
      kind: 'status',
      status: e.status as number | undefined,
      headers: e.headers as Headers | undefined,
      message: e.message,
    });
  }
  return e;
}
