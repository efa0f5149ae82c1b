import { randomUUID } from 'node:crypto';
import {
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type SpanOptions,
  type TextMapGetter,
  type Tracer,
} from '@opentelemetry/api';
import type { Config } from '../config.ts';
import type { Broker } from './broker/broker.ts';
import type { Database, Db, QueryHook } from './db/database.ts';

/**
 * Tracing over OpenTelemetry: a span per HTTP request, per broker publish and delivery, per
 * database transaction and SQL statement, per WebSocket frame and per live push, exported over OTLP/HTTP (JSON) to
 * `OTEL_EXPORTER_OTLP_ENDPOINT`. The trace context crosses processes as W3C `traceparent` /
 * `tracestate`: in HTTP headers, in broker message headers, in cache pub/sub payloads.
 *
 * Without an endpoint nothing is loaded or registered: the helpers below run on the API's no-op
 * tracer and the decorators return their input unchanged.
 */
export const TRACER_NAME = '@parley/server';

export interface Telemetry {
  /** True when spans are recorded and exported. */
  readonly enabled: boolean;
  readonly tracer: Tracer;
  /** The active span's ids, for log lines (`createLogger({ traceContext })`); absent when disabled. */
  readonly traceContext?: () => { traceId: string; spanId: string } | undefined;
  /** Exports the buffered spans, then stops exporting. */
  shutdown(): Promise<void>;
}

/**
 * Starts exporting when an endpoint is configured and registers the tracer provider, the W3C
 * propagator and an AsyncLocalStorage context manager with the OpenTelemetry API (the context
 * follows async calls only through a global manager). One per process: a second one started while
 * the first runs traces its own broker and database, but the spans made through `inSpan` and the
 * HTTP hooks go to the first.
 */
export async function startTelemetry(
  config: { telemetry: Config['telemetry']; server: Pick<Config['server'], 'roles'> },
  options: { serviceVersion?: string } = {},
): Promise<Telemetry> {
  const endpoint = config.telemetry.otlpEndpoint;
  if (!endpoint) return { enabled: false, tracer: trace.getTracer(TRACER_NAME), shutdown: async () => {} };

  // Loaded only when tracing is on: the embedded default pays nothing for the SDK.
  const [{ BasicTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }, core, hooks] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/core'),
      import('@opentelemetry/context-async-hooks'),
    ]);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': 'parley',
      ...(options.serviceVersion ? { 'service.version': options.serviceVersion } : {}),
      'service.instance.id': randomUUID(),
      'parley.roles': config.server.roles.join(','),
    }),
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` })),
    ],
  });
  const contextManager = new hooks.AsyncLocalStorageContextManager().enable();
  const owns = {
    context: context.setGlobalContextManager(contextManager),
    // Trace context only: baggage from a caller would be copied into every message we send.
    propagator: propagation.setGlobalPropagator(new core.W3CTraceContextPropagator()),
    provider: trace.setGlobalTracerProvider(provider),
  };
  if (!owns.context) contextManager.disable();

  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    tracer: provider.getTracer(TRACER_NAME, options.serviceVersion),
    traceContext: activeTraceIds,
    shutdown: () =>
      (stopped ??= (async () => {
        try {
          await provider.shutdown();
        } finally {
          if (owns.provider) trace.disable();
          if (owns.propagator) propagation.disable();
          if (owns.context) context.disable();
        }
      })()),
  };
}

/** The active span's ids; undefined outside a recorded span. */
export function activeTraceIds(): { traceId: string; spanId: string } | undefined {
  const span = trace.getActiveSpan()?.spanContext();
  return span && isSpanContextValid(span) ? { traceId: span.traceId, spanId: span.spanId } : undefined;
}

export { SpanKind, SpanStatusCode, type Span };

/** A started span and the context that makes it the parent of what runs in it (`runInContext`). */
export interface TraceScope {
  readonly span: Span;
  readonly context: Context;
}

/** Starts a span the caller ends, for work that is not one function call (an HTTP exchange). */
export function startSpan(name: string, options: SpanOptions & { parent?: Context }): TraceScope {
  const { parent, ...spanOptions } = options;
  const from = parent ?? context.active();
  const span = trace.getTracer(TRACER_NAME).startSpan(name, spanOptions, from);
  return { span, context: trace.setSpan(from, span) };
}

/** Runs `fn` with `scope` as the active context: the spans it starts are children of its span. */
export function runInContext<T>(scope: Context, fn: () => T): T {
  return context.with(scope, fn);
}

/**
 * Runs `fn` inside the active span `name` (a child of `parent`, by default of the active span)
 * and ends the span when `fn` returns or its promise settles; a thrown error marks it failed.
 */
export function inSpan<T>(name: string, options: SpanOptions & { parent?: Context }, fn: (span: Span) => T): T {
  const { parent, ...spanOptions } = options;
  return trace
    .getTracer(TRACER_NAME)
    .startActiveSpan(name, spanOptions, parent ?? context.active(), (span) => runInSpan(span, fn));
}

function runInSpan<T>(span: Span, fn: (span: Span) => T): T {
  let result: T;
  try {
    result = fn(span);
  } catch (error) {
    failSpan(span, error);
    span.end();
    throw error;
  }
  if (!(result instanceof Promise)) {
    span.end();
    return result;
  }
  return result.then(
    (value: unknown) => {
      span.end();
      return value;
    },
    (error: unknown) => {
      failSpan(span, error);
      span.end();
      throw error;
    },
  ) as T;
}

export function failSpan(span: Span, error: unknown): void {
  if (error instanceof Error) span.recordException(error);
  // The message may quote input; the error's code (AppError) or name is enough to find it in logs.
  const code = (error as { code?: unknown } | null)?.code;
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: typeof code === 'string' ? code : error instanceof Error ? error.name : 'error',
  });
}

/**
 * The active trace context as W3C fields (`traceparent`, `tracestate`), to carry in a message
 * across processes. Empty when tracing is off.
 */
export function traceHeaders(from: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(from, carrier);
  return carrier;
}

const recordGetter: TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    return typeof value === 'string' || Array.isArray(value) ? (value as string | string[]) : undefined;
  },
};

/**
 * The trace context carried by headers or a message (`traceHeaders` output, HTTP headers), or the
 * root context when it carries none: a delivery never inherits whatever happened to be active.
 */
export function contextFrom(carrier: unknown): Context {
  if (carrier === null || typeof carrier !== 'object') return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, carrier as Record<string, unknown>, recordGetter);
}

/**
 * The same broker, traced: a PRODUCER span per publish whose context goes out in the message
 * headers, and a CONSUMER span per delivery, continuing the publisher's trace, around the handler.
 */
export function traceBroker(broker: Broker, telemetry: Telemetry, kind: Config['broker']['kind']): Broker {
  if (!telemetry.enabled) return broker;
  const { tracer } = telemetry;
  const messaging = { 'messaging.system': kind === 'amqp' ? 'rabbitmq' : 'parley.memory' };
  return {
    publish(routingKey, payload, options = {}) {
      return tracer.startActiveSpan(
        `publish ${routingKey}`,
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            ...messaging,
            'messaging.operation.type': 'send',
            'messaging.destination.name': routingKey,
            ...(options.messageId ? { 'messaging.message.id': options.messageId } : {}),
          },
        },
        (span) =>
          runInSpan(span, () =>
            broker.publish(routingKey, payload, { ...options, headers: { ...options.headers, ...traceHeaders() } }),
          ),
      );
    },
    consume(queue, handler, consumeOptions) {
      return broker.consume(
        queue,
        (message) =>
          tracer.startActiveSpan(
            `process ${queue}`,
            {
              kind: SpanKind.CONSUMER,
              attributes: {
                ...messaging,
                'messaging.operation.type': 'process',
                'messaging.destination.name': queue,
                'messaging.rabbitmq.destination.routing_key': message.routingKey,
                'messaging.message.id': message.messageId,
                'parley.delivery.attempt': message.attempt,
              },
            },
            contextFrom(message.headers),
            (span) => runInSpan(span, () => handler(message)),
          ),
        consumeOptions,
      );
    },
    stats: () => broker.stats(),
    retryDead: (queue) => broker.retryDead(queue),
    ping: () => broker.ping(),
    close: () => broker.close(),
  };
}

/** Longest statement text kept on a span; drizzle's statements are far shorter. */
const MAX_STATEMENT_CHARS = 2048;

/**
 * A span per statement, named by its operation and table (`SELECT sessions`), with the statement
 * as sent: placeholders, never values (drizzle binds every value as a parameter, and the project
 * builds no SQL with `sql.raw`). Only statements run inside a traced operation get one: a
 * background poll would otherwise start a trace per query.
 */
function statementHook(tracer: Tracer, driver: Database['kind']): QueryHook {
  return (text, run) => {
    if (!trace.getActiveSpan()) return run();
    const { operation, collection } = summariseStatement(text);
    return tracer.startActiveSpan(
      collection ? `${operation} ${collection}` : operation,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'db.system.name': 'postgresql',
          'db.operation.name': operation,
          ...(collection ? { 'db.collection.name': collection } : {}),
          'db.query.text': text.length > MAX_STATEMENT_CHARS ? `${text.slice(0, MAX_STATEMENT_CHARS)}…` : text,
          'parley.db.driver': driver,
        },
      },
      (span) =>
        runInSpan(span, async () => {
          const result = await run();
          const rows = (result as { rows?: unknown } | undefined)?.rows;
          if (Array.isArray(rows)) span.setAttribute('db.response.returned_rows', rows.length);
          return result;
        }),
    );
  };
}

/** The statement's first keyword and the first table it names (`from`, `into`, `update`). */
export function summariseStatement(text: string): { operation: string; collection?: string } {
  const operation = (/^\s*([a-z]+)/i.exec(text)?.[1] ?? 'SQL').toUpperCase();
  const collection = /\b(?:from|into|update)\s+(?:only\s+)?("[^"]+"(?:\."[^"]+")?|[a-z_][\w.]*)/i
    .exec(text)?.[1]
    ?.replaceAll('"', '');
  return collection ? { operation, collection } : { operation };
}

/**
 * The same database with a CLIENT span around every `transaction()` on `db` and `primary` (a unit
 * of work: its statements, their wait for a connection and the commit), and a CLIENT span per SQL
 * statement sent inside a traced operation (`statementHook`).
 */
export function traceDatabase(database: Database, telemetry: Telemetry): Database {
  if (!telemetry.enabled) return database;
  const { tracer } = telemetry;
  const proxies = new WeakMap<Db, Db>();
  const traced = (db: Db): Db => {
    let proxy = proxies.get(db);
    if (!proxy) {
      const transaction: Db['transaction'] = (work, config) =>
        tracer.startActiveSpan(
          'db transaction',
          {
            kind: SpanKind.CLIENT,
            attributes: {
              'db.system.name': 'postgresql',
              'db.operation.name': 'TRANSACTION',
              'parley.db.driver': database.kind,
            },
          },
          (span) => runInSpan(span, () => db.transaction(work, config)),
        );
      proxy = new Proxy(db, {
        get: (object, property, receiver) =>
          property === 'transaction' ? transaction : (Reflect.get(object, property, receiver) as unknown),
      });
      proxies.set(db, proxy);
    }
    return proxy;
  };
  database.traceQueries(statementHook(tracer, database.kind));
  return {
    kind: database.kind,
    db: traced(database.db),
    primary: traced(database.primary),
    traceQueries: (hook) => database.traceQueries(hook),
    migrate: () => database.migrate(),
    ping: () => database.ping(),
    poolStats: () => database.poolStats(),
    close: () => database.close(),
  };
}
