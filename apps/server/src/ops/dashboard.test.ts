import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../shared/testing/test-server.ts';
import { parseExposition, seriesNames } from './exposition.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
/** Series Prometheus itself makes for every target. */
const PROMETHEUS_BUILTINS = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);
const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'le',
]);

/** Metric names a PromQL expression reads: what remains once strings, matchers, ranges, groupings and calls are gone. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const token = m[0];
    const start = m.index ?? 0;
    const before = bare[start - 1];
    if (before && /[0-9.]/.test(before)) continue; // 1e-9, 5m
    if (/^\s*\(/.test(bare.slice(start + token.length))) continue; // a function call
    if (!PROMQL_WORDS.has(token) && !/^(e|inf|nan)$/i.test(token)) names.add(token);
  }
  return [...names];
}

describe('Grafana dashboard and Prometheus alert rules', () => {
  let server: TestServer;
  let exported: Set<string>;

  beforeAll(async () => {
    server = await startTestServer();
    const res = await server.api.call<string>('GET', '/metrics');
    expect(res.status).toBe(200);
    exported = seriesNames(parseExposition(res.body));
  });
  afterAll(() => server?.close());

  it('reads metric names out of PromQL', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le, route) (rate(x_bucket{a="b{c}"}[5m]))) / clamp_min(sum(y_total), 1e-9) > 0.02 or up == 0',
      ).sort(),
    ).toEqual(['up', 'x_bucket', 'y_total']);
  });

  it('the dashboard parses and queries only series the server exports', async () => {
    const dashboard = JSON.parse(await readFile(path.join(ROOT, 'ops/grafana/parley-dashboard.json'), 'utf8')) as {
      uid: string;
      panels: { type: string; title: string; targets?: { expr: string }[] }[];
    };
    expect(dashboard.uid).toBe('parley-overview');
    const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    expect(exprs.length).toBeGreaterThan(15);
    const used = new Set(exprs.flatMap(metricNames));
    for (const name of used) expect(exported.has(name), `${name} is not exported by the server`).toBe(true);
    for (const wanted of [
      'parley_queue_depth',
      'parley_queue_dead_letters',
      'parley_queue_consumers',
      'ws_connections',
      'parley_model_inference_seconds_bucket',
      'parley_scoring_latency_seconds_bucket',
      'parley_llm_key_failovers_total',
      'parley_db_pool_connections',
      'parley_cache_requests_total',
      'http_request_duration_seconds_bucket',
    ])
      expect(used.has(wanted), `dashboard shows ${wanted}`).toBe(true);
  });

  it('the alert rules parse, are complete, and read only exported series', async () => {
    const doc = parseYaml(await readFile(path.join(ROOT, 'ops/prometheus/alerts.yml'), 'utf8')) as {
      groups: {
        name: string;
        rules: { alert: string; expr: string; labels: { severity: string }; annotations: { summary: string } }[];
      }[];
    };
    const rules = doc.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'ParleyHighErrorRate',
        'ParleyHighLatencyP99',
        'ParleyQueueBacklog',
        'ParleyDeadLetters',
      ]),
    );
    for (const rule of rules) {
      expect(rule.expr, rule.alert).toBeTruthy();
      expect(['page', 'warn']).toContain(rule.labels.severity);
      expect(rule.annotations.summary, rule.alert).toBeTruthy();
      for (const name of metricNames(rule.expr))
        expect(exported.has(name) || PROMETHEUS_BUILTINS.has(name), `${rule.alert}: ${name}`).toBe(true);
    }
  });
});
