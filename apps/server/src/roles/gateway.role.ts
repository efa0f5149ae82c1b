import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { bearerToken, createTokenService, loadSigningKeys } from '../accounts/index.ts';
import type { RoleName } from '../config.ts';
import type { HttpServer } from '../infra/http/http-server.ts';
import { forwardRequest, proxyUpgrades } from '../infra/http/proxy.ts';
import { RateLimiter } from '../infra/http/rate-limit.ts';
import { UpstreamPool } from '../infra/http/upstream-pool.ts';
import type { Role } from './role.ts';

const WEB_DIST = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

/** Which role owns which part of the API; the first matching prefix wins. */
export const API_OWNERS: readonly (readonly [prefix: string, role: RoleName])[] = [['/api/', 'interview']];
const WS_OWNER: RoleName = 'realtime';

/**
 * The HTTP edge. In order, for every request: the per-IP limit (before anything that costs work,
 * so floods of bad tokens or unknown paths are limited too), then a stateless check of any bearer
 * token and the per-user limit, then either the in-process routes of the owning role or a
 * forward to one of its instances (round-robin over healthy ones, failover on connect errors).
 * Also serves the web app.
 */
export const gatewayRole: Role = {
  async start({ container, http }) {
    const { config } = container;
    const limiter = new RateLimiter(container.cache, config.rateLimit);
    const tokens = createTokenService(config, await loadSigningKeys(config));

    http.addHook('onRequest', limiter.byIp);
    http.addHook('onRequest', async (request, reply) => {
      const token = bearerToken(request.headers, request.url);
      if (!token) return;
      const claims = await tokens.verifyAccess(token);
      const route = request.routeOptions.url ?? request.url.split('?')[0] ?? '';
      await limiter.byUser(claims.userId, `${request.method} ${route}`, reply);
    });

    const pools: UpstreamPool[] = [];
    const remote = (role: RoleName) => {
      if (config.server.roles.includes(role)) return undefined;
      const urls = config.server.upstreams[role];
      if (!urls?.length) return undefined;
      const pool = new UpstreamPool({ urls });
      pool.start();
      pools.push(pool);
      return pool;
    };

    for (const [prefix, role] of API_OWNERS) {
      const pool = remote(role);
      if (pool) await http.register((scope) => registerForward(scope, `${prefix}*`, pool));
    }
    const wsPool = remote(WS_OWNER);
    if (wsPool) {
      const tunnels = proxyUpgrades(http.server, '/ws', wsPool);
      http.addHook('preClose', (done) => {
        tunnels.close();
        done();
      });
    }

    await serveWebApp(http);
    return {
      stop: async () => {
        for (const pool of pools) pool.stop();
      },
    };
  },
};

/** Forwards requests untouched: bodies stay raw buffers, so nothing is parsed twice. */
async function registerForward(scope: HttpServer, path: string, pool: UpstreamPool): Promise<void> {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  scope.all(path, { schema: { hide: true } }, (request, reply) =>
    forwardRequest(pool, request, reply, Buffer.isBuffer(request.body) ? request.body : undefined),
  );
}

async function serveWebApp(http: HttpServer): Promise<void> {
  if (!existsSync(WEB_DIST)) {
    http.get('/', { schema: { hide: true } }, async (_request, reply) =>
      reply.type('text/plain').send('Parley is running. The web app is not built: run `npm run build:web`.\n'),
    );
    return;
  }
  await http.register(fastifyStatic, { root: WEB_DIST, prefix: '/', wildcard: false, index: ['index.html'] });
  // Client-side routes fall back to the app shell; API and ops paths keep their JSON 404.
  http.get('/*', { schema: { hide: true } }, (request, reply) => {
    if (request.url.startsWith('/api/') || request.url.startsWith('/ws')) return reply.callNotFound();
    return reply.sendFile('index.html');
  });
}
