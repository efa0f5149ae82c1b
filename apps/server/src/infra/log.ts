import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Correlation fields a log line can carry. Children bind them (`logger.child({ sessionId })`);
 * `withLogContext` / `createLogScope` put them on every line logged inside an async scope, by any
 * logger. Names are fixed so that one query finds a request, a session or a job across roles.
 */
export interface LogContext {
  /** The HTTP request id (`x-request-id`); Fastify's `reqId` binding is renamed to this. */
  requestId?: string;
  /** An interview session. */
  sessionId?: string;
  /** A broker job: the message id. A `messageId` binding is copied here. */
  jobId?: string;
  /** OpenTelemetry trace and span of the active span. */
  traceId?: string;
  spanId?: string;
}

export const LOG_CONTEXT_FIELDS = ['requestId', 'sessionId', 'jobId', 'traceId', 'spanId'] as const;

const scope = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with `fields` added to the log context of every line logged inside it. */
export function withLogContext<T>(fields: LogContext, fn: () => T): T {
  return scope.run({ ...scope.getStore(), ...defined(fields) }, fn);
}

/** The fields in force here (empty outside any scope). */
export function currentLogContext(): LogContext {
  return { ...scope.getStore() };
}

/**
 * A scope that can be re-entered from callbacks that lose the async context (a framework's body
 * parser resumes on the socket's context). Fastify wiring: `onRequest` creates one and runs
 * `done` in it; `preValidation` runs `done` in it again.
 */
export function createLogScope(fields: LogContext): { run<R>(fn: () => R): R } {
  return withLogContext(fields, () => {
    const resource = new AsyncResource('parley.log-scope');
    return { run: (fn) => resource.runInAsyncScope(fn) };
  });
}

/**
 * Redaction by key, at any depth: credentials, tokens, keys and personal data (e-mail addresses,
 * answer text and transcripts). Matched case-insensitively on the key with `-`/`_` removed.
 */
const SENSITIVE_KEY =
  /^(?:.*(?:password|passwd|passphrase|secret|token|apikey|authorization|cookie|credentials?|privatekey|masterkey|signingkey|datakey|encryptionkey)|email|emails|emailaddress|transcript|transcripts|text|answertext|jwtkeys|xapikey)$/;

/**
 * Redaction inside strings, wherever they appear (messages, URLs, error messages and stacks):
 * URL credentials, secrets in query strings, bearer/basic credentials, JWTs, provider API keys,
 * AWS access key ids and e-mail addresses. A cheap pre-check skips strings that cannot match.
 */
const STRING_RULES: [RegExp, string][] = [
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1[redacted]@'],
  [
    /([?&;](?:access_token|refresh_token|id_token|token|api_key|apikey|key|password|secret|code|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token)=)[^&#\s"']*/gi,
    '$1[redacted]',
  ],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]'],
  [/\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '[redacted-jwt]'],
  [/\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}/g, '[redacted-key]'],
  [/\bAKIA[0-9A-Z]{16}\b/g, '[redacted-key]'],
  [/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, '[email]'],
];
const MAY_NEED_SCRUB = /[@=]|bearer|basic|eyJ|sk-|AKIA/i;

export const CENSOR = '[redacted]';
const MAX_DEPTH = 8;

/** Removes secrets and personal data from a string. */
export function scrubString(value: string): string {
  if (!MAY_NEED_SCRUB.test(value)) return value;
  let out = value;
  for (const [pattern, replacement] of STRING_RULES) out = out.replace(pattern, replacement);
  return out;
}

const isSensitiveKey = (key: string) => SENSITIVE_KEY.test(key.replace(/[-_]/g, '').toLowerCase());

/**
 * A copy of `value` safe to log: sensitive keys censored at any depth, strings scrubbed, errors
 * serialised first (their messages and stacks may quote input).
 */
export function scrub(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return scrubString(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[depth]';
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[binary ${value.byteLength} bytes]`;
  if (value instanceof Date) return value;
  seen.add(value);
  if (value instanceof Error) return scrub(pino.stdSerializers.err(value), depth, seen);
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1, seen));
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return scrub(toJSON.call(value), depth, seen);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = isSensitiveKey(k) && v !== undefined && v !== null ? CENSOR : scrub(v, depth + 1, seen);
  }
  return out;
}

/** Fastify's request (or a raw IncomingMessage) as logged: no headers, the URL scrubbed. */
function serializeRequest(req: {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remoteAddress?: string; remotePort?: number } | null;
}) {
  return {
    method: req.method,
    url: req.url === undefined ? undefined : scrubString(req.url),
    host: req.host,
    remoteAddress: req.ip ?? req.socket?.remoteAddress,
    remotePort: req.socket?.remotePort,
  };
}

const serializers = {
  req: serializeRequest,
  res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
  err: (err: unknown) => scrub(err instanceof Error ? pino.stdSerializers.err(err) : err),
};

/**
 * Paths redacted by pino itself before anything else: a fast path for the shapes we log most.
 * The deep `scrub` covers every other depth and every string.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.newPassword',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.apiKey',
  '*.secret',
  '*.email',
  '*.transcript',
  '*.text',
];

export interface CreateLoggerOptions {
  level: string;
  name?: string;
  destination?: pino.DestinationStream;
  /** The active trace, added to every line (wired to OpenTelemetry's active span by the tracing setup). */
  traceContext?: () => { traceId: string; spanId?: string } | undefined;
}

/**
 * JSON lines: ISO time, level label, pid, the correlation fields of `LogContext`, secrets and
 * personal data redacted from the message, the merged object and every child binding.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      name: options.name,
      redact: { paths: REDACT_PATHS, censor: CENSOR },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers,
      formatters: {
        level: (label) => ({ level: label }),
        bindings: (b) => formatBindings(b),
        log: (obj) => {
          const out: Record<string, unknown> = {};
          // Keys with a serializer are scrubbed there: `req` is a Fastify request, not data.
          for (const [k, v] of Object.entries(obj))
            out[k] = k in serializers ? v : isSensitiveKey(k) && v != null ? CENSOR : scrub(v);
          return out;
        },
      },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? scrubString(a) : a)) as typeof args;
          method.apply(this, scrubbed);
        },
      },
      // pino applies the bindings formatter to the root only; children are rewritten here.
      onChild: rewriteChildBindings,
      mixin: (_obj, _level, logger) => {
        const fields: LogContext = { ...scope.getStore(), ...options.traceContext?.() };
        const keys = Object.keys(fields) as (keyof LogContext)[];
        if (keys.length === 0) return {};
        // A child that binds a field already writes it; writing it twice makes duplicate JSON keys.
        const bound = boundKeys(logger);
        for (const k of keys) if (bound.has(k) || fields[k] === undefined) delete fields[k];
        return fields;
      },
    },
    options.destination,
  );
}

function formatBindings(bindings: pino.Bindings): pino.Bindings {
  const out = scrub(bindings) as Record<string, unknown>;
  if ('reqId' in out) {
    out.requestId ??= out.reqId;
    delete out.reqId;
  }
  if (out.messageId !== undefined) out.jobId ??= out.messageId;
  return out;
}

const chindingsSym = pino.symbols.chindingsSym;

/** Renames and scrubs a child's bindings (the JSON fragment pino prepends to each of its lines). */
function rewriteChildBindings(child: pino.Logger): void {
  const raw = child as unknown as Record<symbol, string>;
  const bindings = child.bindings();
  const formatted = formatBindings(bindings);
  const json = JSON.stringify(formatted);
  if (json === JSON.stringify(bindings)) return;
  // `bindings()` leaves out the base `pid`; keep it first, as on the root.
  const pid = raw[chindingsSym]?.startsWith(',"pid":') ? `,"pid":${process.pid}` : '';
  raw[chindingsSym] = pid + (json.length > 2 ? `,${json.slice(1, -1)}` : '');
}

const boundKeyCache = new WeakMap<object, { chindings: unknown; keys: Set<string> }>();
function boundKeys(logger: pino.Logger): Set<string> {
  const chindings = (logger as unknown as Record<symbol, unknown>)[chindingsSym];
  const cached = boundKeyCache.get(logger);
  if (cached && cached.chindings === chindings) return cached.keys;
  const keys = new Set(Object.keys(logger.bindings()));
  boundKeyCache.set(logger, { chindings, keys });
  return keys;
}

function defined(fields: LogContext): LogContext {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}
