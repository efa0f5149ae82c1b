import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ZRubric } from '@parley/contracts';
import { MemoryCache } from '../../infra/cache/memory-cache.ts';
import { apiKeys } from '../../infra/db/schema.ts';
import type { StaffActor } from '../../shared/actor.ts';
import { isAppError } from '../../shared/app-error.ts';
import { createAnalyzerSource } from '../analyzer-source.ts';
import { llmFailureOf } from '../llm/llm-error.ts';
import { OpenAiLlm } from '../llm/openai-llm.ts';
import type { StructuredRequest } from '../llm/structured-llm.ts';
import { UseLiteEmbedder } from '../offline/sentence-embedder.ts';
import { FakeLlmServer, openAiCompletion, openAiError, type RecordedRequest } from '../testing/fake-llm-server.ts';
import { createScoringHarness, type ScoringHarness } from '../testing/scoring-harness.ts';
import { ApiKeyRepository } from './api-key.repository.ts';
import { ApiKeysService, type AuditEntry } from './api-keys.service.ts';
import { KeyRotatingLlm } from './key-rotating-llm.ts';
import { SecretBox } from './secret-box.ts';

const REQUEST: StructuredRequest = {
  system: 'Extract a colour.',
  user: 'The sky is blue.',
  schemaName: 'colour',
  schemaDescription: 'A colour',
  jsonSchema: {
    type: 'object',
    properties: { colour: { type: 'string' } },
    required: ['colour'],
    additionalProperties: false,
  },
  maxOutputTokens: 20,
};
const KEY = {
  A: 'sk-test-AAAAAAAAAAAAAAAA-aaaa',
  B: 'sk-test-BBBBBBBBBBBBBBBB-bbbb',
  C: 'sk-test-CCCCCCCCCCCCCCCC-cccc',
};
const keyOf = (r: RecordedRequest) => (r.headers.authorization ?? '').replace(/^Bearer /, '');

describe('SecretBox (AES-256-GCM)', () => {
  const box = new SecretBox(randomBytes(32).toString('hex'));

  it('round-trips a key, with a fresh nonce each time, and never stores it in clear', () => {
    const a = box.encrypt(KEY.A);
    const b = box.encrypt(KEY.A);
    expect(a).not.toBe(b);
    expect(a).not.toContain('AAAA');
    expect(box.decrypt(a)).toBe(KEY.A);
  });

  it('refuses a tampered ciphertext and a ciphertext under another key', () => {
    const sealed = box.encrypt(KEY.A);
    const parts = sealed.split('.');
    const data = Buffer.from(parts[3]!, 'base64url');
    data[0] = data[0]! ^ 1;
    const tampered = [...parts.slice(0, 3), data.toString('base64url')].join('.');
    expect(() => box.decrypt(tampered)).toThrow(/does not decrypt/);
    expect(() => new SecretBox(randomBytes(32).toString('hex')).decrypt(sealed)).toThrow(/does not decrypt/);
  });

  it('fingerprints keys stably without revealing them', () => {
    expect(box.fingerprint(KEY.A)).toBe(box.fingerprint(KEY.A));
    expect(box.fingerprint(KEY.A)).not.toBe(box.fingerprint(KEY.B));
    expect(box.fingerprint(KEY.A)).toMatch(/^fp_[0-9a-f]{16}$/);
  });
});

describe('key rotation against the local OpenAI protocol server', () => {
  const server = new FakeLlmServer();
  const box = new SecretBox(randomBytes(32).toString('hex'));
  let h: ScoringHarness;
  let admin: StaffActor;
  let baseUrl: string;
  let repo: ApiKeyRepository;
  let service: ApiKeysService;
  let cache: MemoryCache;
  const audit: AuditEntry[] = [];

  beforeAll(async () => {
    h = await createScoringHarness();
    baseUrl = `${await server.start()}/v1`;
    repo = new ApiKeyRepository(h.database);
    service = new ApiKeysService(repo, box, async (e) => {
      audit.push(e);
    });
  });
  afterAll(async () => {
    await server.stop();
    await h.close();
  });
  beforeEach(async () => {
    // Each test gets its own organisation, so its keys and counters start clean.
    const { orgId } = await h.org();
    admin = await h.staff(orgId, 'admin');
    cache = new MemoryCache();
  });

  const add = (key: string, extra: { priority?: number; rateLimitPerMin?: number | null } = {}) =>
    service.add(admin, {
      provider: 'openai',
      key,
      label: key.slice(-4),
      priority: extra.priority ?? 0,
      rateLimitPerMin: extra.rateLimitPerMin ?? null,
    });
  const failovers: string[] = [];
  const llm = () =>
    new KeyRotatingLlm({
      onFailover: (provider, reason) => failovers.push(`${provider}:${reason}`),
      orgId: admin.orgId,
      provider: 'openai',
      model: 'gpt-4o-mini',
      repo,
      box,
      cache,
      clock: h.clock.now,
      client: (k) => new OpenAiLlm({ ...k, baseUrl, timeoutMs: 5_000, maxRetries: 0 }),
    });
  const byKey = (replies: Partial<Record<string, ReturnType<typeof openAiError>>>) =>
    server.script((r) => replies[keyOf(r)] ?? openAiCompletion({ colour: keyOf(r).slice(-4) }));
  const rowsById = async () => new Map((await repo.list(admin.orgId)).map((k) => [k.last4, k]));

  it('a 401 on key A fails over to key B within the same request', async () => {
    await add(KEY.A);
    await add(KEY.B);
    byKey({ [KEY.A]: openAiError(401) });
    const reply = await llm().generate(REQUEST);
    expect(reply.value).toEqual({ colour: 'bbbb' });
    expect(server.requests.map(keyOf)).toEqual([KEY.A, KEY.B]);
    const rows = await rowsById();
    expect(rows.get('aaaa')).toMatchObject({ failureCount: 1, consecutiveFailures: 1, isActive: true });
    expect(rows.get('aaaa')!.lastError).toMatch(/^auth 401/);
    expect(rows.get('aaaa')!.disabledUntil!.getTime()).toBe(h.clock.now().getTime() + 30_000);
    expect(rows.get('bbbb')).toMatchObject({ usageCount: 1, failureCount: 0 });
    expect(rows.get('bbbb')!.lastUsedAt).toEqual(h.clock.now());
    expect(await cache.get(`apikey:${admin.orgId}:openai:current`)).toBe(rows.get('bbbb')!.id);
  });

  it('one key 401, one 429, the third succeeds; the 429 key cools down for its retry-after', async () => {
    await add(KEY.A);
    await add(KEY.B);
    await add(KEY.C);
    byKey({ [KEY.A]: openAiError(401), [KEY.B]: openAiError(429, { 'retry-after': '60' }) });
    failovers.length = 0;
    expect((await llm().generate(REQUEST)).value).toEqual({ colour: 'cccc' });
    expect(failovers).toEqual(['openai:auth', 'openai:rate_limit']);
    const rows = await rowsById();
    expect(rows.get('bbbb')!.disabledUntil!.getTime()).toBe(h.clock.now().getTime() + 60_000);
    expect(rows.get('bbbb')!.lastError).toMatch(/^rate_limit 429/);

    // While A and B cool down, requests go straight to C.
    server.requests.length = 0;
    await llm().generate(REQUEST);
    expect(server.requests.map(keyOf)).toEqual([KEY.C]);
    // After the cool-down, B is tried again.
    h.clock.advance(61);
    byKey({ [KEY.A]: openAiError(401) });
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      server.requests.length = 0;
      await llm().generate(REQUEST);
      seen.add(keyOf(server.requests.at(-1)!));
    }
    expect(seen.has(KEY.B)).toBe(true);
  });

  it('rotates round-robin among healthy keys of the same priority, lower priority first', async () => {
    await add(KEY.A);
    await add(KEY.B);
    await add(KEY.C, { priority: 5 });
    byKey({});
    const used: string[] = [];
    for (let i = 0; i < 4; i++) {
      server.requests.length = 0;
      await llm().generate(REQUEST);
      used.push(keyOf(server.requests[0]!));
    }
    expect(used).toEqual([KEY.A, KEY.B, KEY.A, KEY.B]);
    const rows = await rowsById();
    expect([rows.get('aaaa')!.usageCount, rows.get('bbbb')!.usageCount, rows.get('cccc')!.usageCount]).toEqual([
      2, 2, 0,
    ]);
  });

  it('marks a key that keeps failing authentication inactive', async () => {
    await add(KEY.A);
    byKey({ [KEY.A]: openAiError(401) });
    for (let i = 0; i < 3; i++) {
      const e = await llm()
        .generate(REQUEST)
        .catch((err: unknown) => err);
      expect(llmFailureOf(e)?.reason).toBe('auth');
      h.clock.advance(3_600);
    }
    expect((await rowsById()).get('aaaa')).toMatchObject({ isActive: false, consecutiveFailures: 3 });
    server.requests.length = 0;
    const e = await llm()
      .generate(REQUEST)
      .catch((err: unknown) => err);
    expect(isAppError(e) && e.message).toMatch(/no usable API key/);
    expect(server.requests).toHaveLength(0);
  });

  it('holds each key to its per-minute limit, counted in the cache', async () => {
    await add(KEY.A, { rateLimitPerMin: 1 });
    await add(KEY.B, { priority: 1 });
    byKey({});
    const used: string[] = [];
    for (let i = 0; i < 3; i++) {
      server.requests.length = 0;
      await llm().generate(REQUEST);
      used.push(keyOf(server.requests[0]!));
    }
    expect(used).toEqual([KEY.A, KEY.B, KEY.B]);
  });

  it('keeps the key out of the database, the error text and the admin view', async () => {
    byKey({ [KEY.A]: { status: 401, body: { error: { message: `Incorrect API key provided: ${KEY.A}` } } } });
    await add(KEY.A);
    await add(KEY.B);
    await llm().generate(REQUEST);
    const raw = await h.database.primary.select().from(apiKeys).where(eq(apiKeys.orgId, admin.orgId));
    expect(JSON.stringify(raw)).not.toContain('AAAAAAAAAAAAAAAA');
    const listed = await service.list(admin);
    expect(JSON.stringify(listed)).not.toContain('AAAAAAAAAAAAAAAA');
    expect(listed.map((k) => k.masked).sort()).toEqual(['••••aaaa', '••••bbbb']);
    expect(listed.find((k) => k.masked === '••••aaaa')!.lastError).toContain(box.fingerprint(KEY.A));
  });

  it('refuses a duplicate key and audits every change', async () => {
    audit.length = 0;
    const k = await add(KEY.A);
    const dup = await add(KEY.A).catch((e: unknown) => e);
    expect(isAppError(dup) && dup.code).toBe('ALREADY_EXISTS');
    await service.setActive(admin, k.id, false);
    await service.remove(admin, k.id);
    expect(audit.map((a) => [a.action, a.targetId, a.actorId])).toEqual([
      ['llm_key.added', k.id, admin.userId],
      ['llm_key.disabled', k.id, admin.userId],
      ['llm_key.deleted', k.id, admin.userId],
    ]);
    expect(JSON.stringify(audit)).not.toContain('AAAAAAAAAAAAAAAA');
  });

  it('when every key of a provider fails, the next provider scores and is recorded', async () => {
    await add(KEY.A);
    await add(KEY.B);
    byKey({ [KEY.A]: openAiError(401), [KEY.B]: openAiError(503) });
    const source = createAnalyzerSource({
      llm: {
        providers: ['openai', 'offline'],
        openai: { model: 'gpt-4o-mini', baseUrl },
        anthropic: { model: 'claude' },
        timeoutMs: 5_000,
      },
      keys: repo,
      box,
      cache,
      embedder: new UseLiteEmbedder(),
      clock: h.clock.now,
    });
    const analyzer = await source(admin.orgId);
    const rubric = ZRubric.parse({
      criteria: [{ name: 'Clarity', anchors: { '1': 'Unclear.', '5': 'Clear and structured.' } }],
      idealAnswer: '',
    });
    const a = await analyzer.analyze({ question: 'Why?', rubric, transcript: 'Because it is clear, for example.' });
    expect(server.requests.map(keyOf)).toEqual([KEY.A, KEY.B]);
    expect(a.provenance.provider).toBe('offline');
  });
});
