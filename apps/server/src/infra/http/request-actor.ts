import type { FastifyRequest } from 'fastify';
import { ANONYMOUS, type Actor } from '../../shared/actor.ts';
import type { HttpServer } from './http-server.ts';

/**
 * Gives every request its `actor`, resolved in `onRequest` by `resolve` (the accounts context's
 * token check in the server; a token → actor map in tests). Until then, and where `resolve` is never
 * reached, the actor is anonymous.
 */
export function resolveRequestActors(app: HttpServer, resolve: (request: FastifyRequest) => Promise<Actor>): void {
  const actors = new WeakMap<object, Actor>();
  app.decorateRequest('actor', {
    getter(this: object) {
      return actors.get(this) ?? ANONYMOUS;
    },
    setter(this: object, actor: Actor) {
      actors.set(this, actor);
    },
  });
  app.addHook('onRequest', async (request) => {
    request.actor = await resolve(request);
  });
}
