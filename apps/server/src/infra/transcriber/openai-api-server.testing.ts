/**
 * A local HTTP server speaking OpenAI's transcription API (`POST /v1/audio/transcriptions`,
 * multipart form, JSON answers and `{ error: { message, type, param, code } }` errors), for the
 * OpenAI adapter's tests. What it answers is up to the test's handler.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TranscriptionRequest {
  authorization: string | undefined;
  /** Every form field but the file; repeated fields (`timestamp_granularities[]`) as arrays. */
  fields: Record<string, string | string[]>;
  file: { name: string; type: string; bytes: Uint8Array } | undefined;
}

export interface JsonReply {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

/** `hang`: never answer, as a provider that stopped responding. */
export type Reply = JsonReply | 'hang';

export interface OpenAiApiServer {
  /** For the SDK's `baseURL`: ends in `/v1`. */
  baseUrl: string;
  /** Every transcription request received, in order. */
  requests: TranscriptionRequest[];
  close(): Promise<void>;
}

export function openAiError(
  status: number,
  message: string,
  extra: { type?: string; param?: string | null; code?: string | null; headers?: Record<string, string> } = {},
): JsonReply {
  return {
    status,
    headers: extra.headers,
    body: {
      error: {
        message,
        type: extra.type ?? 'invalid_request_error',
        param: extra.param ?? null,
        code: extra.code ?? null,
      },
    },
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function parseForm(req: IncomingMessage): Promise<TranscriptionRequest> {
  const body = await readBody(req);
  const form = await new Response(body, { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
  const fields: Record<string, string | string[]> = {};
  let file: TranscriptionRequest['file'];
  for (const [name, value] of form.entries()) {
    if (typeof value !== 'string') {
      file = { name: value.name, type: value.type, bytes: new Uint8Array(await value.arrayBuffer()) };
      continue;
    }
    const previous = fields[name];
    fields[name] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return { authorization: req.headers.authorization, fields, file };
}

/** Starts the server on a free port of 127.0.0.1; `handle` gets each request and its 0-based index. */
export async function startOpenAiApiServer(
  handle: (request: TranscriptionRequest, index: number) => Reply | Promise<Reply>,
): Promise<OpenAiApiServer> {
  const requests: TranscriptionRequest[] = [];
  const server = createServer((req, res) => {
    const send = (reply: JsonReply) => {
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body));
    };
    if (req.method !== 'POST' || req.url !== '/v1/audio/transcriptions') {
      void readBody(req).then(() => send(openAiError(404, `Invalid URL (${req.method} ${req.url})`)));
      return;
    }
    parseForm(req)
      .then(async (request) => {
        requests.push(request);
        const reply = await handle(request, requests.length - 1);
        if (reply !== 'hang') send(reply);
      })
      .catch((err: unknown) => send(openAiError(500, `test server failed: ${String(err)}`, { type: 'server_error' })));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
