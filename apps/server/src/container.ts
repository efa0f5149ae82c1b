import type { TReadiness } from '@parley/contracts';
import type { Config, RoleName } from './config.ts';
import type { Broker } from './infra/broker/broker.ts';
import { createBroker } from './infra/broker/index.ts';
import type { Cache } from './infra/cache/cache.ts';
import { createCache } from './infra/cache/index.ts';
import { instrumentCache } from './infra/cache/instrumented-cache.ts';
import type { MemoryCacheHub } from './infra/cache/memory-cache.ts';
import type { Database } from './infra/db/database.ts';
import { createDatabase } from './infra/db/index.ts';
import { Metrics } from './infra/http/metrics.ts';
import { createLogger, type Logger } from './infra/log.ts';
import type { Mailer } from './infra/mail/mail.ts';
import { createMailer } from './infra/mail/index.ts';
import { createStorage, loadOrCreateMasterKey } from './infra/storage/index.ts';
import type { Storage } from './infra/storage/storage.ts';
import { startTelemetry, traceBroker, traceDatabase, type Telemetry } from './infra/telemetry.ts';
// The design's topology plus the workers' maintenance queue: every process declares the same one.
import { WORKER_TOPOLOGY } from './workers/index.ts';

/** Tests hand in a prepared adapter (a PGlite cloned from a migrated snapshot) instead of building one. */
export interface ContainerOverrides {
  logger?: Logger;
  database?: Database;
  /** Makes the embedded cache share its keys with other "processes" in the same test process. */
  cacheHub?: MemoryCacheHub;
}

type AdapterName = 'database' | 'cache' | 'broker' | 'storage' | 'mail';
type Adapters = Partial<{ database: Database; cache: Cache; broker: Broker; storage: Storage; mail: Mailer }>;

/** What each role needs; a process builds the union for the roles it runs and nothing more. */
const ROLE_NEEDS: Record<RoleName, AdapterName[]> = {
  gateway: ['cache'],
  // E-mail is sent only by the workers' notification.email job: other roles publish requests.
  interview: ['database', 'cache', 'broker', 'storage'],
  realtime: ['database', 'cache', 'broker', 'storage'],
  emotion: ['database', 'cache', 'broker', 'storage'],
  scoring: ['database', 'cache', 'broker', 'storage'],
  worker: ['database', 'cache', 'broker', 'storage', 'mail'],
};

/**
 * The composition root: every adapter is built here from the config and passed down. Nothing
 * else in the server constructs infrastructure.
 */
export class Container {
  private constructor(
    readonly config: Config,
    readonly logger: Logger,
    readonly metrics: Metrics,
    /** Tracing (a no-op without `OTEL_EXPORTER_OTLP_ENDPOINT`); shut down last, to export every span. */
    readonly telemetry: Telemetry,
    private readonly adapters: Adapters,
  ) {}

  static async create(config: Config, overrides: ContainerOverrides = {}): Promise<Container> {
    const telemetry = await startTelemetry(config);
    const logger =
      overrides.logger ??
      createLogger({ level: config.server.logLevel, name: 'parley', traceContext: telemetry.traceContext });
    const metrics = new Metrics({ roles: config.server.roles.join(',') });
    const needs = new Set(config.server.roles.flatMap((r) => ROLE_NEEDS[r]));
    const adapters: Adapters = {};
    try {
      if (needs.has('database')) {
        adapters.database = traceDatabase(
          overrides.database ??
            (await createDatabase(config, {
              onError: (err, pool) => logger.error({ err, pool }, 'database pool error'),
            })),
          telemetry,
        );
        await adapters.database.migrate();
        metrics.observeDatabase(adapters.database);
      }
      if (needs.has('cache')) {
        adapters.cache = instrumentCache(
          await createCache(config, {
            hub: overrides.cacheHub,
            onError: (err) => logger.error({ err }, 'cache error'),
          }),
          metrics,
        );
      }
      if (needs.has('broker')) {
        adapters.broker = traceBroker(
          await createBroker(config, WORKER_TOPOLOGY, {
            onError: (err) => logger.error({ err }, 'broker error'),
          }),
          telemetry,
          config.broker.kind,
        );
        metrics.observeBroker(adapters.broker);
      }
      if (needs.has('storage')) {
        // Local storage always encrypts and keeps its master key beside the data when none is
        // configured; S3 uses client-side encryption only when STORAGE_MASTER_KEY is set.
        const masterKey =
          config.storage.kind === 'local' && !config.storage.masterKey
            ? await loadOrCreateMasterKey(config.server.dataDir)
            : undefined;
        adapters.storage = await createStorage(config, { masterKey });
      }
      if (needs.has('mail')) adapters.mail = createMailer(config);
    } catch (error) {
      await closeAll(adapters, logger);
      await telemetry.shutdown();
      throw error;
    }
    return new Container(config, logger, metrics, telemetry, adapters);
  }

  private readonly modules = new Map<string, Promise<unknown>>();

  /**
   * One instance per process of a context's module (accounts, interviews, …), built on first use,
   * so roles running side by side share it.
   */
  module<T>(name: string, build: () => Promise<T>): Promise<T> {
    let built = this.modules.get(name) as Promise<T> | undefined;
    if (!built) {
      built = build();
      this.modules.set(name, built);
    }
    return built;
  }

  private need<K extends AdapterName>(name: K): NonNullable<Adapters[K]> {
    const adapter = this.adapters[name];
    if (!adapter)
      throw new Error(`adapter "${name}" is not configured for roles ${this.config.server.roles.join(',')}`);
    return adapter;
  }

  get database(): Database {
    return this.need('database');
  }
  get cache(): Cache {
    return this.need('cache');
  }
  get broker(): Broker {
    return this.need('broker');
  }
  get storage(): Storage {
    return this.need('storage');
  }
  get mail(): Mailer {
    return this.need('mail');
  }

  /** Pings every adapter this process uses, in parallel, each with a time limit. */
  async readiness(): Promise<TReadiness> {
    const entries = Object.entries(this.adapters) as [AdapterName, { ping(): Promise<void> }][];
    const checks = await Promise.all(
      entries.map(async ([name, adapter]) => {
        const started = performance.now();
        try {
          await withTimeout(adapter.ping(), 2_000, `${name} ping timed out`);
          return { name, ok: true, latencyMs: round(performance.now() - started) };
        } catch (error) {
          return { name, ok: false, latencyMs: round(performance.now() - started), error: (error as Error).message };
        }
      }),
    );
    return {
      status: checks.every((c) => c.ok) ? 'ready' : 'not_ready',
      roles: this.config.server.roles,
      checks,
    };
  }

  async close(): Promise<void> {
    await closeAll(this.adapters, this.logger);
    await this.telemetry.shutdown().catch((err: unknown) => this.logger.warn({ err }, 'telemetry shutdown failed'));
  }
}

async function closeAll(adapters: Partial<Record<AdapterName, { close(): Promise<void> }>>, logger: Logger) {
  // Close in reverse dependency order: producers of work first, the database last.
  for (const name of ['mail', 'broker', 'storage', 'cache', 'database'] as const) {
    try {
      await adapters[name]?.close();
    } catch (error) {
      logger.warn({ err: error, adapter: name }, 'adapter close failed');
    }
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
