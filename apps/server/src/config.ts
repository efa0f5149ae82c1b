import { z } from 'zod';

export const ROLE_NAMES = ['gateway', 'interview', 'realtime', 'emotion', 'scoring', 'worker'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
);
/** `host:port,host:port` (IPv6 in brackets: `[::1]:26379`). */
const hostPorts = csv.pipe(
  z
    .array(z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^\s:[\]]+):\d{1,5}$/, 'must be a list of host:port'))
    .transform((list) =>
      list.map((item) => {
        const at = item.lastIndexOf(':');
        return { host: item.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(item.slice(at + 1)) };
      }),
    ),
);
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const url = (protocols: string[]) =>
  z.string().refine(
    (s) => {
      try {
        return protocols.includes(new URL(s).protocol.replace(':', ''));
      } catch {
        return false;
      }
    },
    `must be a URL with scheme ${protocols.join(' or ')}`,
  );
const hex32 = z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters (32 bytes)');

/**
 * Every environment variable Parley reads, flat as in the environment. Defaults give the
 * embedded mode: nothing needs to be installed. `.env.example` lists the same variables.
 */
const ZEnv = z.object({
  // server
  HOST: z.string().default('127.0.0.1'),
  PORT: int(0, 65535).default(8080),
  PUBLIC_URL: url(['http', 'https']).optional(),
  ROLES: csv.pipe(z.array(z.enum(ROLE_NAMES)).min(1)).default([...ROLE_NAMES]),
  DATA_DIR: z.string().default('./data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  BODY_LIMIT_BYTES: int(1024).default(1_048_576),
  CORS_ORIGINS: csv.default([]),
  // gateway routing in a split deployment: role=url|url;role=url
  UPSTREAMS: z.string().default(''),
  // database
  DATABASE_URL: url(['postgres', 'postgresql']).optional(),
  DATABASE_REPLICA_URL: url(['postgres', 'postgresql']).optional(),
  DATABASE_POOL_MAX: int(1, 1000).default(10),
  // cache / pub-sub
  REDIS_URL: url(['redis', 'rediss']).optional(),
  REDIS_KEY_PREFIX: z.string().max(64).default('parley:'),
  // Redis behind Sentinel: host:port of each sentinel; REDIS_URL then gives only db, user, password, TLS
  REDIS_SENTINELS: hostPorts.default([]),
  REDIS_SENTINEL_MASTER: z.string().min(1).max(128).default('parley'),
  // broker
  AMQP_URL: url(['amqp', 'amqps']).optional(),
  // object storage
  S3_ENDPOINT: url(['http', 'https']).optional(),
  S3_REGION: z.string().default('us-east-1'),
  S3_BUCKET: z.string().default('parley'),
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  S3_FORCE_PATH_STYLE: bool.default(true),
  STORAGE_MASTER_KEY: hex32.optional(),
  // mail
  SMTP_URL: url(['smtp', 'smtps']).optional(),
  MAIL_FROM: z.string().default('Parley <no-reply@parley.local>'),
  // auth
  JWT_KEYS: z.string().optional(),
  JWT_ACTIVE_KID: z.string().optional(),
  JWT_ISSUER: z.string().default('parley'),
  JWT_AUDIENCE: z.string().default('parley-api'),
  JWT_ACCESS_TTL_SECONDS: int(30).default(900),
  JWT_REFRESH_TTL_SECONDS: int(60).default(604_800),
  JWT_CLOCK_SKEW_SECONDS: int(0, 300).default(30),
  PASSWORD_SCRYPT_N: int(1024).default(131_072),
  // rate limits
  RATE_LIMIT_USER_PER_MIN: int(1).default(100),
  RATE_LIMIT_IP_PER_MIN: int(1).default(1000),
  WS_MAX_FRAMES_PER_SEC: int(1, 100).default(10),
  WS_MAX_FRAME_BYTES: int(1024).default(262_144),
  // scoring
  LLM_PROVIDERS: csv.pipe(z.array(z.enum(['openai', 'anthropic', 'offline']))).default(['offline']),
  OPENAI_BASE_URL: url(['http', 'https']).optional(),
  OPENAI_MODEL: z.string().default('gpt-4o-mini'),
  OPENAI_API_KEY: z.string().optional(),
  ANTHROPIC_BASE_URL: url(['http', 'https']).optional(),
  ANTHROPIC_MODEL: z.string().default('claude-sonnet-4-5'),
  ANTHROPIC_API_KEY: z.string().optional(),
  LLM_TIMEOUT_MS: int(100).default(30_000),
  SECRETS_KEY: hex32.optional(),
  // transcription
  TRANSCRIBER: z.enum(['pocketsphinx', 'openai', 'none']).default('pocketsphinx'),
  TRANSCRIBER_OPENAI_API_KEY: z.string().optional(),
  TRANSCRIBER_OPENAI_BASE_URL: url(['http', 'https']).optional(),
  TRANSCRIBER_OPENAI_MODEL: z.string().default('whisper-1'),
  // telemetry
  OTEL_EXPORTER_OTLP_ENDPOINT: url(['http', 'https']).optional(),
});

export type Env = z.infer<typeof ZEnv>;

export interface Config {
  server: {
    host: string;
    port: number;
    publicUrl: string;
    roles: RoleName[];
    dataDir: string;
    logLevel: Env['LOG_LEVEL'];
    bodyLimitBytes: number;
    corsOrigins: string[];
    upstreams: Partial<Record<RoleName, string[]>>;
  };
  database:
    { kind: 'pglite'; dataDir: string } | { kind: 'postgres'; url: string; replicaUrl?: string; poolMax: number };
  cache:
    | { kind: 'memory' }
    | {
        kind: 'redis';
        url: string;
        keyPrefix: string;
        /** Sentinels to ask for the current primary of `master`; without them `url` is the server. */
        sentinel?: { sentinels: { host: string; port: number }[]; master: string };
      };
  broker: { kind: 'memory' } | { kind: 'amqp'; url: string };
  storage:
    | { kind: 'local'; root: string; masterKey?: string }
    | {
        kind: 's3';
        endpoint: string;
        region: string;
        bucket: string;
        accessKeyId: string;
        secretAccessKey: string;
        forcePathStyle: boolean;
        masterKey?: string;
      };
  mail: { kind: 'outbox'; dir: string; from: string } | { kind: 'smtp'; url: string; from: string };
  auth: {
    keys?: string;
    activeKid?: string;
    issuer: string;
    audience: string;
    accessTtlSeconds: number;
    refreshTtlSeconds: number;
    clockSkewSeconds: number;
    scryptN: number;
  };
  rateLimit: { userPerMin: number; ipPerMin: number; wsFramesPerSec: number; wsMaxFrameBytes: number };
  llm: {
    providers: ('openai' | 'anthropic' | 'offline')[];
    // Keys from the environment, for the CLI and a first start; the key store takes over later.
    openai: { baseUrl?: string; model: string; apiKey?: string };
    anthropic: { baseUrl?: string; model: string; apiKey?: string };
    timeoutMs: number;
    secretsKey?: string;
  };
  transcriber:
    { kind: 'pocketsphinx' } | { kind: 'openai'; apiKey: string; baseUrl?: string; model: string } | { kind: 'none' };
  telemetry: { otlpEndpoint?: string };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function parseUpstreams(spec: string): Partial<Record<RoleName, string[]>> {
  const out: Partial<Record<RoleName, string[]>> = {};
  for (const part of spec
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [role, urls] = part.split('=');
    if (!role || !urls || !(ROLE_NAMES as readonly string[]).includes(role)) {
      throw new ConfigError(`UPSTREAMS: "${part}" must look like role=http://host:port|http://host:port`);
    }
    out[role as RoleName] = urls.split('|').map((u) => u.trim());
  }
  return out;
}

/** Validates the environment once; a bad value throws a `ConfigError` naming each variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const known = Object.fromEntries(
    Object.keys(ZEnv.shape).flatMap((k) => (env[k] === undefined || env[k] === '' ? [] : [[k, env[k]]])),
  );
  const parsed = ZEnv.safeParse(known);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const s3Missing = ['S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'].filter((k) => e.S3_ENDPOINT && !known[k]);
  if (s3Missing.length)
    throw new ConfigError(`Invalid configuration:\n  ${s3Missing.join(', ')}: required when S3_ENDPOINT is set`);
  if (e.TRANSCRIBER === 'openai' && !e.TRANSCRIBER_OPENAI_API_KEY) {
    throw new ConfigError('Invalid configuration:\n  TRANSCRIBER_OPENAI_API_KEY: required when TRANSCRIBER=openai');
  }
  if (e.DATABASE_REPLICA_URL && !e.DATABASE_URL) {
    throw new ConfigError('Invalid configuration:\n  DATABASE_REPLICA_URL: requires DATABASE_URL');
  }
  if (e.REDIS_SENTINELS.length && !e.REDIS_URL) {
    throw new ConfigError(
      'Invalid configuration:\n  REDIS_SENTINELS: requires REDIS_URL (its database, user and password)',
    );
  }
  return {
    server: {
      host: e.HOST,
      port: e.PORT,
      publicUrl: e.PUBLIC_URL ?? `http://${e.HOST === '0.0.0.0' ? 'localhost' : e.HOST}:${e.PORT}`,
      roles: [...new Set(e.ROLES)],
      dataDir: e.DATA_DIR,
      logLevel: e.LOG_LEVEL,
      bodyLimitBytes: e.BODY_LIMIT_BYTES,
      corsOrigins: e.CORS_ORIGINS,
      upstreams: parseUpstreams(e.UPSTREAMS),
    },
    database: e.DATABASE_URL
      ? { kind: 'postgres', url: e.DATABASE_URL, replicaUrl: e.DATABASE_REPLICA_URL, poolMax: e.DATABASE_POOL_MAX }
      : { kind: 'pglite', dataDir: `${e.DATA_DIR}/pg` },
    cache: e.REDIS_URL
      ? {
          kind: 'redis',
          url: e.REDIS_URL,
          keyPrefix: e.REDIS_KEY_PREFIX,
          ...(e.REDIS_SENTINELS.length
            ? { sentinel: { sentinels: e.REDIS_SENTINELS, master: e.REDIS_SENTINEL_MASTER } }
            : {}),
        }
      : { kind: 'memory' },
    broker: e.AMQP_URL ? { kind: 'amqp', url: e.AMQP_URL } : { kind: 'memory' },
    storage: e.S3_ENDPOINT
      ? {
          kind: 's3',
          endpoint: e.S3_ENDPOINT,
          region: e.S3_REGION,
          bucket: e.S3_BUCKET,
          accessKeyId: e.S3_ACCESS_KEY_ID ?? '',
          secretAccessKey: e.S3_SECRET_ACCESS_KEY ?? '',
          forcePathStyle: e.S3_FORCE_PATH_STYLE,
          masterKey: e.STORAGE_MASTER_KEY,
        }
      : { kind: 'local', root: `${e.DATA_DIR}/objects`, masterKey: e.STORAGE_MASTER_KEY },
    mail: e.SMTP_URL
      ? { kind: 'smtp', url: e.SMTP_URL, from: e.MAIL_FROM }
      : { kind: 'outbox', dir: `${e.DATA_DIR}/outbox`, from: e.MAIL_FROM },
    auth: {
      keys: e.JWT_KEYS,
      activeKid: e.JWT_ACTIVE_KID,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      accessTtlSeconds: e.JWT_ACCESS_TTL_SECONDS,
      refreshTtlSeconds: e.JWT_REFRESH_TTL_SECONDS,
      clockSkewSeconds: e.JWT_CLOCK_SKEW_SECONDS,
      scryptN: e.PASSWORD_SCRYPT_N,
    },
    rateLimit: {
      userPerMin: e.RATE_LIMIT_USER_PER_MIN,
      ipPerMin: e.RATE_LIMIT_IP_PER_MIN,
      wsFramesPerSec: e.WS_MAX_FRAMES_PER_SEC,
      wsMaxFrameBytes: e.WS_MAX_FRAME_BYTES,
    },
    llm: {
      providers: e.LLM_PROVIDERS,
      openai: { baseUrl: e.OPENAI_BASE_URL, model: e.OPENAI_MODEL, apiKey: e.OPENAI_API_KEY },
      anthropic: { baseUrl: e.ANTHROPIC_BASE_URL, model: e.ANTHROPIC_MODEL, apiKey: e.ANTHROPIC_API_KEY },
      timeoutMs: e.LLM_TIMEOUT_MS,
      secretsKey: e.SECRETS_KEY,
    },
    transcriber:
      e.TRANSCRIBER === 'openai'
        ? {
            kind: 'openai',
            apiKey: e.TRANSCRIBER_OPENAI_API_KEY ?? '',
            baseUrl: e.TRANSCRIBER_OPENAI_BASE_URL,
            model: e.TRANSCRIBER_OPENAI_MODEL,
          }
        : { kind: e.TRANSCRIBER },
    telemetry: { otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT },
  };
}

/** Names of every variable, for `.env.example` and the operator guide (kept in sync by a test). */
export const ENV_VARIABLES = Object.keys(ZEnv.shape);
