import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { noop, type Role } from './role.ts';

const WEB_DIST = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

/** HTTP edge: serves the web app; rate limits and routing to other roles hang off this role. */
export const gatewayRole: Role = {
  async start({ http }) {
    if (existsSync(WEB_DIST)) {
      await http.register(fastifyStatic, { root: WEB_DIST, prefix: '/', wildcard: false, index: ['index.html'] });
      // Client-side routes fall back to the app shell; API and ops paths keep their JSON 404.
      http.get('/*', { schema: { hide: true } }, (request, reply) => {
        if (request.url.startsWith('/api/') || request.url.startsWith('/ws')) {
          return reply.callNotFound();
        }
        return reply.sendFile('index.html');
      });
    } else {
      http.get('/', { schema: { hide: true } }, async (_request, reply) =>
        reply.type('text/plain').send('Parley is running. The web app is not built: run `npm run build:web`.\n'),
      );
    }
    return noop;
  },
};
