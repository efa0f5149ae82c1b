import { ERROR_CODES } from '@parley/contracts';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deployment, Layout } from './shared/testing/layouts.ts';

/**
 * Garbage at every route of the OpenAPI document: random path parameters, query strings, bodies
 * and content types, with no token, a forged one, or a real admin's. Whatever arrives, the answer
 * is never a 5xx, and every 4xx carries an error code from the contract.
 */
export function apiFuzzSuite(name: string, layout: Layout): void {
  describe(`every route of the OpenAPI document under random input (${name})`, () => {
    let d: Deployment;
    let adminToken: string;
    let routes: { method: string; path: string }[];

    beforeAll(async () => {
      d = await layout({ RATE_LIMIT_IP_PER_MIN: '1000000', RATE_LIMIT_USER_PER_MIN: '1000000' });
      adminToken = (
        await d.api.call('POST', '/api/auth/sign-up', {
          body: { orgName: 'Fuzz', name: 'Admin', email: 'admin@fuzz.test', password: 'correct horse battery' },
        })
      ).body.accessToken;
      const doc = (await d.api.call('GET', '/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
      routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops)
          .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
          .map((method) => ({ method: method.toUpperCase(), path })),
      );
    });
    afterAll(async () => {
      await d.close();
    });

    it('finds the API routes in the document', () => {
      expect(routes.length).toBeGreaterThan(30);
      expect(routes.filter((r) => r.path.startsWith('/api/')).length).toBeGreaterThan(30);
    });

    it('never answers 5xx, and every 4xx has a known code', async () => {
      const segment = fc.oneof(fc.uuid(), fc.string({ maxLength: 40 }), fc.integer().map(String), fc.constant('..'));
      const body = fc.oneof(
        fc.constant(undefined),
        fc.json({ maxDepth: 3 }),
        fc.string({ maxLength: 200 }),
        fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
        fc.constant('{"email":'),
      );
      const contentType = fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', 'video/webm');
      const token = fc.oneof(
        fc.constant<string | undefined>(undefined),
        fc.string({ maxLength: 60 }),
        fc.constant('ADMIN'),
      );
      const query = fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 20 }), { maxKeys: 3 });
      const failures: string[] = [];

      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...routes),
          fc.array(segment, { minLength: 4, maxLength: 4 }),
          body,
          contentType,
          token,
          query,
          async (route, segments, payload, type, tok, q) => {
            let i = 0;
            const path = route.path.replace(/\{[^}]+\}|:[A-Za-z]+/g, () => encodeURIComponent(segments[i++] ?? 'x'));
            const qs = new URLSearchParams(q).toString();
            const url = `${path}${qs ? `?${qs}` : ''}`;
            const hasBody = payload !== undefined && route.method !== 'GET';
            const res = await d.api.call(route.method, url, {
              token: tok === 'ADMIN' ? adminToken : tok?.replace(/[^\x21-\x7e]/g, '') || undefined,
              body: hasBody ? payload : undefined,
              headers: hasBody ? { 'content-type': type } : {},
            });
            const code = (res.body as { error?: { code?: string } } | undefined)?.error?.code;
            const ok =
              res.status < 500 &&
              (res.status < 400 || (typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code)));
            if (!ok) failures.push(`${route.method} ${url} → ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
            return ok;
          },
        ),
        { numRuns: 600, seed: Number(process.env.FUZZ_SEED ?? 20261129) },
      );
      expect(failures).toEqual([]);
    });
  });
}
