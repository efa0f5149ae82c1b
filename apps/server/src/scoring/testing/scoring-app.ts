/**
 * The scoring module mounted on a real HTTP server over a scoring harness, with a bearer-token
 * hook standing in for the accounts context (token name → actor) and the audit rows collected.
 */
import { bearerToken } from '../../accounts/index.ts';
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { MemoryCache } from '../../infra/cache/memory-cache.ts';
import { createHttpServer, type HttpServer } from '../../infra/http/http-server.ts';
import { Metrics } from '../../infra/http/metrics.ts';
import { resolveRequestActors } from '../../infra/http/request-actor.ts';
import { createLogger } from '../../infra/log.ts';
import { ANONYMOUS, type Actor } from '../../shared/actor.ts';
import { createScoringModule, type AuditEntry, type ScoringModule, type ScoringModuleDeps } from '../index.ts';
import { OfflineAnswerAnalyzer } from '../offline/offline-scorer.ts';
import { UseLiteEmbedder } from '../offline/sentence-embedder.ts';
import { FAST_SCORING_QUEUE, type ScoringHarness } from './scoring-harness.ts';

export interface ScoringApp {
  app: HttpServer;
  scoring: ScoringModule;
  /** Bearer token → actor; add callers with `tokens.set(name, actor)`. */
  tokens: Map<string, Actor>;
  audit: AuditEntry[];
  call(
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    token?: string,
    payload?: unknown,
  ): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** Starts the module's consumer too, so a completed session gets scored by the offline scorer. */
export async function createScoringApp(
  h: ScoringHarness,
  options: Pick<ScoringModuleDeps, 'renderPdf'> = {},
): Promise<ScoringApp> {
  const tokens = new Map<string, Actor>();
  const audit: AuditEntry[] = [];
  const scoring = createScoringModule({
    config: {
      llm: {
        providers: ['offline'],
        openai: { model: 'gpt-4o-mini' },
        anthropic: { model: 'claude' },
        timeoutMs: 5_000,
        secretsKey: randomBytes(32).toString('hex'),
      },
    },
    database: h.database,
    broker: h.broker,
    storage: h.storage,
    cache: new MemoryCache(),
    logger: createLogger({ level: 'silent' }),
    interviews: h.module.sessions,
    transcriber: null,
    audit: async (e) => {
      audit.push(e);
    },
    analyzer: new OfflineAnswerAnalyzer(new UseLiteEmbedder()),
    queue: FAST_SCORING_QUEUE,
    clock: h.clock.now,
    ...options,
  });
  const app = await createHttpServer({
    logger: createLogger({ level: 'silent' }),
    metrics: new Metrics(),
    bodyLimitBytes: 1024 * 1024,
    corsOrigins: [],
    version: 'test',
    readiness: async () => ({ status: 'ready', roles: ['interview'], checks: [] }),
  });
  resolveRequestActors(app, async (request) => {
    const token = bearerToken(request.headers, request.url);
    return (token && tokens.get(token)) || ANONYMOUS;
  });
  scoring.registerRoutes(app);
  await app.ready();
  await scoring.startConsumer();
  return {
    app,
    scoring,
    tokens,
    audit,
    call: (method, url, token, payload) =>
      app.inject({
        method,
        url,
        headers: token ? { authorization: `Bearer ${token}` } : {},
        payload: payload as object,
      }),
    async close() {
      await scoring.stop();
      await app.close();
    },
  };
}
