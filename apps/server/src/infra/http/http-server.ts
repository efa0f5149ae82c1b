import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { ZHealth, ZReadiness, type TReadiness } from '@parley/contracts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  type RawServerDefault,
} from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Actor } from '../../shared/actor.ts';
import type { Logger } from '../log.ts';
import { contextFrom, runInContext, SpanKind, SpanStatusCode, startSpan, type TraceScope } from '../telemetry.ts';
import { installErrorHandling } from './error-handler.ts';
import type { Metrics } from './metrics.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling; set by the accounts context's authentication hook (anonymous otherwise). */
    actor: Actor;
  }
}

export type HttpServer = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  ZodTypeProvider
>;

export interface HttpServerOptions {
  logger: Logger;
  metrics: Metrics;
  bodyLimitBytes: number;
  corsOrigins: string[];
  /** Called by GET /readyz; each adapter reachable → ready. */
  readiness: () => Promise<TReadiness>;
  version: string;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The HTTP edge shared by every process: request ids, JSON logs, error mapping, security headers,
 * CORS, Prometheus metrics, health and readiness, and an OpenAPI document generated from the zod
 * schemas of every route registered on it.
 */
export async function createHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const app = Fastify<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger>({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimitBytes,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    trustProxy: true,
    ajv: { customOptions: { removeAdditional: false } },
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);
  traceRequests(app);

  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    options.metrics.httpDuration.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  await app.register(helmet, {
    // The API answers JSON; the web app's own CSP is set where it is served.
    contentSecurityPolicy: false,
    hsts: { maxAge: 31_536_000, includeSubDomains: true },
  });
  await app.register(cors, {
    origin: options.corsOrigins.length === 0 ? false : options.corsOrigins,
    credentials: true,
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Parley API', version: options.version },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          // The `token` of a media URL from `GET /api/sessions/{id}/recordings` (one answer, minutes).
          mediaToken: { type: 'apiKey', in: 'query', name: 'token' },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.get('/healthz', { schema: { tags: ['ops'], summary: 'Liveness', response: { 200: ZHealth } } }, async () => ({
    status: 'ok' as const,
  }));
  app.get(
    '/readyz',
    {
      schema: { tags: ['ops'], summary: 'Readiness of every adapter', response: { 200: ZReadiness, 503: ZReadiness } },
    },
    async (_request, reply) => {
      const readiness = await options.readiness();
      return reply.status(readiness.status === 'ready' ? 200 : 503).send(readiness);
    },
  );
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    return reply
      .header('content-type', options.metrics.registry.contentType)
      .send(await options.metrics.registry.metrics());
  });

  return app;
}

/**
 * A SERVER span per request, continuing the caller's `traceparent` and active through every hook
 * and the handler. The body parser resumes on the socket's async context, so `preValidation`
 * re-enters the request's. A WebSocket upgrade never sends a response: its span ends when the
 * handler takes the socket (101), or when the socket closes if the upgrade was refused.
 */
function traceRequests(app: HttpServer): void {
  const scopes = new WeakMap<FastifyRequest, TraceScope>();
  const finish = (request: FastifyRequest, statusCode: number | undefined, error?: string) => {
    const span = scopes.get(request)?.span;
    if (!span) return;
    scopes.delete(request);
    if (statusCode !== undefined) span.setAttribute('http.response.status_code', statusCode);
    if (error !== undefined || (statusCode ?? 0) >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    span.end();
  };
  app.addHook('onRequest', (request, _reply, done) => {
    // The route template, never the raw path: paths can carry ids and tokens.
    const route = request.routeOptions.url;
    const scope = startSpan(route ? `${request.method} ${route}` : request.method, {
      kind: SpanKind.SERVER,
      parent: contextFrom(request.headers),
      attributes: {
        'http.request.method': request.method,
        ...(route ? { 'http.route': route } : {}),
        'client.address': request.ip,
        'parley.request_id': request.id,
      },
    });
    scopes.set(request, scope);
    if (request.headers.upgrade) request.raw.socket.once('close', () => finish(request, undefined));
    runInContext(scope.context, () => done());
  });
  app.addHook('preValidation', (request, _reply, done) => {
    const scope = scopes.get(request);
    if (scope) runInContext(scope.context, () => done());
    else done();
  });
  app.addHook('preHandler', (request, _reply, done) => {
    if (request.headers.upgrade) finish(request, 101);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    finish(request, reply.statusCode);
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    finish(request, undefined, 'aborted');
    done();
  });
}
