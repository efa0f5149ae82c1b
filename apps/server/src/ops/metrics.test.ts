import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBroker } from '../infra/broker/memory-broker.ts';
import { INTERVIEW_EVENTS_TOPOLOGY } from '../infra/broker/topology.ts';
import type { Topology } from '../infra/broker/broker.ts';
import { cacheContract } from '../infra/cache/cache.contract.ts';
import { instrumentCache } from '../infra/cache/instrumented-cache.ts';
import { MemoryCache, MemoryCacheHub } from '../infra/cache/memory-cache.ts';
import { createTestDatabase } from '../infra/db/testing.ts';
import { createLogger } from '../infra/log.ts';
import { createHttpServer, type HttpServer } from '../infra/http/http-server.ts';
import { Metrics } from '../infra/http/metrics.ts';
import { parseExposition, sampleValue } from './exposition.ts';

cacheContract('memory, instrumented for metrics', () => {
  const hub = new MemoryCacheHub();
  return { client: async () => instrumentCache(new MemoryCache({ hub }), new Metrics()) };
});

const TOPOLOGY: Topology = {
  exchange: INTERVIEW_EVENTS_TOPOLOGY.exchange,
  queues: [
    ...INTERVIEW_EVENTS_TOPOLOGY.queues,
    { name: 'ops.metrics-test', bindings: ['ops.metrics.#'], maxAttempts: 1, backoffMs: 10 },
  ],
};

async function scrape(http: HttpServer) {
  const res = await http.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  return parseExposition(res.body);
}

describe('GET /metrics', () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  async function serve(metrics: Metrics) {
    const http = await createHttpServer({
      logger: createLogger({ level: 'silent' }),
      metrics,
      bodyLimitBytes: 1024 * 1024,
      corsOrigins: [],
      readiness: async () => ({ status: 'ready', roles: [], checks: [] }),
      version: 'test',
    });
    closers.push(() => http.close());
    return http;
  }

  it('reports depth, consumers and dead letters of every queue, read from the broker on scrape', async () => {
    const metrics = new Metrics({ roles: 'test' });
    const broker = new MemoryBroker({ topology: TOPOLOGY });
    closers.push(() => broker.close());
    metrics.observeBroker(broker);
    const http = await serve(metrics);

    for (let i = 0; i < 3; i++) await broker.publish('interview.completed', { i });
    let failed = 0;
    await broker.consume('ops.metrics-test', async () => {
      failed++;
      throw new Error('handler always fails');
    });
    await broker.publish('ops.metrics.one', {});
    for (
      let i = 0;
      i < 200 && (await broker.stats()).find((s) => s.queue === 'ops.metrics-test')?.deadLetters !== 1;
      i++
    )
      await new Promise((r) => setTimeout(r, 10));
    expect(failed).toBe(1);

    const m = await scrape(http);
    expect(sampleValue(m, 'parley_queue_depth', { queue: 'scoring.process' })).toBe(3);
    expect(sampleValue(m, 'parley_queue_depth', { queue: 'emotion.analysis' })).toBe(0);
    expect(sampleValue(m, 'parley_queue_consumers', { queue: 'ops.metrics-test' })).toBe(1);
    expect(sampleValue(m, 'parley_queue_dead_letters', { queue: 'ops.metrics-test' })).toBe(1);
    expect(sampleValue(m, 'parley_queue_depth', { queue: 'scoring.process', roles: 'test' })).toBe(3);
    expect(sampleValue(m, 'parley_metrics_source_up', { source: 'broker' })).toBe(1);

    // Nothing is read between scrapes: the next scrape sees the new state.
    await broker.publish('interview.completed', { i: 4 });
    expect(sampleValue(await scrape(http), 'parley_queue_depth', { queue: 'scoring.process' })).toBe(4);
  });

  it('keeps answering when the broker cannot be read, with no stale queue series', async () => {
    const metrics = new Metrics();
    const broker = new MemoryBroker({ topology: TOPOLOGY });
    metrics.observeBroker(broker);
    const http = await serve(metrics);
    await broker.publish('interview.completed', {});
    expect(sampleValue(await scrape(http), 'parley_queue_depth', { queue: 'scoring.process' })).toBe(1);
    await broker.close();
    const m = await scrape(http);
    expect(sampleValue(m, 'parley_metrics_source_up', { source: 'broker' })).toBe(0);
    expect(m.samples.filter((s) => s.name === 'parley_queue_depth')).toEqual([]);
  });

  it('counts cache hits and misses without changing what the cache answers', async () => {
    const metrics = new Metrics();
    const cache = instrumentCache(new MemoryCache(), metrics);
    closers.push(() => cache.close());
    const http = await serve(metrics);
    expect(await cache.get('user:1')).toBeNull();
    await cache.set('user:1', 'ann', 60);
    expect(await cache.get('user:1')).toBe('ann');
    expect(await cache.get('user:1')).toBe('ann');
    await cache.close();
    await expect(cache.get('user:1')).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    const m = await scrape(http);
    expect(sampleValue(m, 'parley_cache_requests_total', { operation: 'get', result: 'hit' })).toBe(2);
    expect(sampleValue(m, 'parley_cache_requests_total', { operation: 'get', result: 'miss' })).toBe(1);
    expect(sampleValue(m, 'parley_cache_requests_total', { operation: 'get', result: 'error' })).toBe(1);
  });

  it('reports no pool for the embedded database, and says it could read it', async () => {
    const metrics = new Metrics();
    const database = await createTestDatabase();
    closers.push(() => database.close());
    metrics.observeDatabase(database);
    const m = await scrape(await serve(metrics));
    expect(sampleValue(m, 'parley_metrics_source_up', { source: 'database' })).toBe(1);
    expect(m.samples.filter((s) => s.name.startsWith('parley_db_pool'))).toEqual([]);
  });

  it('declares the series other roles observe, once, with their labels', async () => {
    const metrics = new Metrics();
    metrics.wsConnections.inc();
    metrics.wsFramesReceived.inc(5);
    metrics.wsFramesDropped.inc({ reason: 'rate_limited' });
    metrics.modelInferenceSeconds.observe({ model: 'blazeface', stage: 'detect' }, 0.012);
    metrics.scoringLatencySeconds.observe({ provider: 'openai', outcome: 'ok' }, 1.5);
    metrics.llmKeyFailovers.inc({ provider: 'anthropic', reason: 'rate_limited' });
    const m = await scrape(await serve(metrics));
    expect(sampleValue(m, 'ws_connections', {})).toBe(1);
    expect(sampleValue(m, 'ws_frames_received_total', {})).toBe(5);
    expect(sampleValue(m, 'ws_frames_dropped_total', { reason: 'rate_limited' })).toBe(1);
    expect(sampleValue(m, 'parley_model_inference_seconds_count', { model: 'blazeface', stage: 'detect' })).toBe(1);
    expect(sampleValue(m, 'parley_scoring_latency_seconds_bucket', { provider: 'openai', le: '2.5' })).toBe(1);
    expect(sampleValue(m, 'parley_llm_key_failovers_total', { provider: 'anthropic', reason: 'rate_limited' })).toBe(1);
    for (const name of Object.keys(m.types)) expect(m.help[name], name).toBeTruthy();
  });
});
