import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted HTTP reply. `body` objects are sent as JSON. */
export interface FakeReply {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Wait this long before answering (to trigger client timeouts). */
  delayMs?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

export type Responder = (request: RecordedRequest, index: number) => FakeReply;

/**
 * A local HTTP server that speaks just enough of the OpenAI chat-completions and Anthropic
 * messages APIs for the official SDKs: replies come from a script, requests are recorded.
 */
export class FakeLlmServer {
  readonly requests: RecordedRequest[] = [];
  #server: Server;
  #responder: Responder = () => ({ status: 500, body: { error: { message: 'no script' } } });
  #timers = new Set<NodeJS.Timeout>();

  constructor() {
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Replies in order; the last one repeats. */
  script(...replies: (FakeReply | Responder)[]): void {
    this.requests.length = 0;
    this.#responder = (req, i) => {
      const r = replies[Math.min(i, replies.length - 1)]!;
      return typeof r === 'function' ? r(req, i) : r;
    };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    };
    const index = this.requests.push(recorded) - 1;
    const reply = this.#responder(recorded, index);
    const send = () => {
      if (res.destroyed) return;
      const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {});
      res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
      res.end(body);
    };
    if (reply.delayMs) {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        send();
      }, reply.delayMs);
      this.#timers.add(t);
    } else send();
  }
}

/** A chat completion whose message content is `content` (an object is JSON-encoded). */
export function openAiCompletion(content: unknown, model = 'gpt-4o-mini-2024-07-18'): FakeReply {
  return {
    body: {
      id: 'chatcmpl-test',
      object: 'chat.completion',
      created: 1_700_000_000,
      model,
      choices: [
        {
          index: 0,
          finish_reason: 'stop',
          message: {
            role: 'assistant',
            content: typeof content === 'string' ? content : JSON.stringify(content),
            refusal: null,
          },
        },
      ],
      usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
    },
  };
}

/** A message that calls `tool` with `input`. */
export function anthropicToolUse(tool: string, input: unknown, model = 'claude-sonnet-4-5-20250929'): FakeReply {
  return {
    body: {
      id: 'msg_test',
      type: 'message',
      role: 'assistant',
      model,
      content: [{ type: 'tool_use', id: 'toolu_test', name: tool, input }],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 10, output_tokens: 10 },
    },
  };
}

/** A message with only text (a model that ignored the forced tool). */
export function anthropicText(text: string): FakeReply {
  return {
    body: {
      id: 'msg_test',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5-20250929',
      content: [{ type: 'text', text }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 10, output_tokens: 10 },
    },
  };
}

export const openAiError = (status: number, headers: Record<string, string> = {}): FakeReply => ({
  status,
  headers,
  body: { error: { message: `error ${status}`, type: 'test_error', code: null, param: null } },
});

export const anthropicError = (status: number, headers: Record<string, string> = {}): FakeReply => ({
  status,
  headers,
  body: {
    type: 'error',
    error: { type: status === 429 ? 'rate_limit_error' : 'api_error', message: `error ${status}` },
  },
});
