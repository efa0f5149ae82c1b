import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../shared/app-error.ts';
import { FakeLlmServer, type FakeReply, type RecordedRequest } from '../testing/fake-llm-server.ts';
import { llmFailureOf } from './llm-error.ts';
import type { StructuredLlm, StructuredRequest } from './structured-llm.ts';

/** How one provider's adapter is driven against the local protocol server. */
export interface LlmHarness {
  path: string;
  create(baseUrl: string, options: { timeoutMs?: number; maxRetries?: number }): StructuredLlm;
  reply(value: unknown): FakeReply;
  malformed(): FakeReply;
  error(status: number, headers?: Record<string, string>): FakeReply;
  /** The JSON schema the adapter sent, read back from the recorded request. */
  sentSchema(request: RecordedRequest): unknown;
}

const REQUEST: StructuredRequest = {
  system: 'You extract a colour.',
  user: 'The sky is blue.',
  schemaName: 'colour',
  schemaDescription: 'A colour name',
  jsonSchema: {
    type: 'object',
    properties: { colour: { type: 'string' } },
    required: ['colour'],
    additionalProperties: false,
  },
  maxOutputTokens: 50,
};

async function failure(p: Promise<unknown>) {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!isAppError(e)) throw new Error(`expected an AppError, got ${String(e)}`);
  return { code: e.code, ...llmFailureOf(e) };
}

/** Behaviour every `StructuredLlm` adapter shares, through its real SDK over real HTTP. */
export function structuredLlmContract(name: string, harness: LlmHarness): void {
  describe(`${name} structured LLM (real SDK, local protocol server)`, () => {
    const server = new FakeLlmServer();
    let baseUrl = '';
    beforeAll(async () => {
      baseUrl = await server.start();
    });
    afterAll(() => server.stop());

    it('returns the object the model produced and sends the JSON schema', async () => {
      server.script(harness.reply({ colour: 'blue' }));
      const reply = await harness.create(baseUrl, {}).generate(REQUEST);
      expect(reply.value).toEqual({ colour: 'blue' });
      expect(reply.model).toMatch(/\S/);
      expect(server.requests).toHaveLength(1);
      expect(server.requests[0]!.path).toBe(harness.path);
      expect(harness.sentSchema(server.requests[0]!)).toMatchObject({ properties: { colour: { type: 'string' } } });
      expect(JSON.stringify(server.requests[0]!.body)).toContain('The sky is blue.');
    });

    it('waits out a 429 with retry-after and then succeeds', async () => {
      server.script(harness.error(429, { 'retry-after': '0' }), harness.reply({ colour: 'red' }));
      const reply = await harness.create(baseUrl, { maxRetries: 2 }).generate(REQUEST);
      expect(reply.value).toEqual({ colour: 'red' });
      expect(server.requests).toHaveLength(2);
    });

    it('reports a 429 that outlasts the retries as rate_limit with the retry-after delay', async () => {
      server.script(harness.error(429, { 'retry-after': '7' }));
      const f = await failure(harness.create(baseUrl, { maxRetries: 0 }).generate(REQUEST));
      expect(f).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'rate_limit', status: 429, retryAfterMs: 7000 });
      expect(server.requests).toHaveLength(1);
    });

    it('fails a 401 at once as an auth failure, without retrying', async () => {
      server.script(harness.error(401));
      const f = await failure(harness.create(baseUrl, { maxRetries: 2 }).generate(REQUEST));
      expect(f).toMatchObject({ code: 'UPSTREAM_FAILED', reason: 'auth', status: 401 });
      expect(server.requests).toHaveLength(1);
    });

    it('retries a 5xx and reports it as a server failure when it persists', async () => {
      server.script(harness.error(503, { 'retry-after-ms': '1' }));
      const f = await failure(harness.create(baseUrl, { maxRetries: 1 }).generate(REQUEST));
      expect(f).toMatchObject({ code: 'UPSTREAM_FAILED', reason: 'server', status: 503 });
      expect(server.requests).toHaveLength(2);
    });

    it('recovers when a 5xx is followed by a good reply', async () => {
      server.script(harness.error(500, { 'retry-after-ms': '1' }), harness.reply({ colour: 'green' }));
      const reply = await harness.create(baseUrl, { maxRetries: 1 }).generate(REQUEST);
      expect(reply.value).toEqual({ colour: 'green' });
    });

    it('gives up on a server that does not answer in time', async () => {
      server.script({ ...harness.reply({ colour: 'late' }), delayMs: 5_000 });
      const f = await failure(harness.create(baseUrl, { timeoutMs: 150, maxRetries: 0 }).generate(REQUEST));
      expect(f).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'timeout' });
    });

    it('reports a reply without a parsable object as invalid_output', async () => {
      server.script(harness.malformed());
      const f = await failure(harness.create(baseUrl, {}).generate(REQUEST));
      expect(f).toMatchObject({ code: 'UPSTREAM_FAILED', reason: 'invalid_output' });
    });

    it('reports a refused connection as a network failure', async () => {
      const closed = new FakeLlmServer();
      const url = await closed.start();
      await closed.stop();
      const f = await failure(harness.create(url, { maxRetries: 0 }).generate(REQUEST));
      expect(f).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'network' });
    });
  });
}
