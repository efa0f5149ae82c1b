import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** A value read from an adapter when Prometheus scrapes, never on a timer. */
type Source<T> = () => Promise<T> | T;

export interface QueueStatsLike {
  queue: string;
  depth: number;
  consumers: number;
  deadLetters: number;
}
export interface PoolStatsLike {
  pool: string;
  total: number;
  idle: number;
  waiting: number;
  max: number;
}

/** A scrape waits at most this long for one source; a slow broker must not hang `/metrics`. */
const SOURCE_TIMEOUT_MS = 2_000;

/**
 * One registry per process (never prom-client's global), so tests can build many servers.
 *
 * Every series Parley exports is declared here, once, so that the dashboard, the alert rules and
 * the code agree on names and labels. Contexts observe the ones they own (WebSocket, inference,
 * scoring, key failover); adapter gauges (queues, pools) are read from the ports on scrape.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;

  // Broker, per queue: read from `Broker.stats()` on scrape.
  readonly queueDepth: Gauge<'queue'>;
  readonly queueConsumers: Gauge<'queue'>;
  readonly queueDeadLetters: Gauge<'queue'>;
  // Database pools: read from `Database.poolStats()` on scrape.
  readonly dbPoolConnections: Gauge<'pool' | 'state'>;
  readonly dbPoolWaiting: Gauge<'pool'>;
  readonly dbPoolMax: Gauge<'pool'>;
  /** Cache reads by outcome; hit rate = hit / (hit + miss). Counted by `instrumentCache`. */
  readonly cacheRequests: Counter<'operation' | 'result'>;
  /** 1 when the last scrape could read the source (broker, database), 0 when it failed or timed out. */
  readonly sourceUp: Gauge<'source'>;

  // Observed by the realtime role.
  readonly wsConnections: Gauge;
  readonly wsFramesReceived: Counter;
  /** reason: rate_limited, overloaded, too_large, invalid, refused, failed. */
  readonly wsFramesDropped: Counter<'reason'>;
  // Observed by the emotion role.
  /** stage: detect, landmarks, expressions, … ; model: the model's name. */
  readonly modelInferenceSeconds: Histogram<'model' | 'stage'>;
  // Observed by the scoring role.
  /** provider: openai, anthropic, offline; outcome: ok, error. */
  readonly scoringLatencySeconds: Histogram<'provider' | 'outcome'>;
  /** A provider key given up for the next one; reason: unauthorized, rate_limited, server_error, timeout. */
  readonly llmKeyFailovers: Counter<'provider' | 'reason'>;

  private readonly sources = new Map<string, Source<unknown>>();
  private readonly pending = new Map<string, Promise<unknown>>();

  constructor(defaultLabels: Record<string, string> = {}) {
    const registers = [this.registry];
    this.registry.setDefaultLabels(defaultLabels);
    collectDefaultMetrics({ register: this.registry });
    this.httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by route and status',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });

    const queueGauge = (name: string, help: string, pick: (s: QueueStatsLike) => number): Gauge<'queue'> => {
      const gauge: Gauge<'queue'> = new Gauge({
        name,
        help,
        labelNames: ['queue'] as const,
        registers,
        collect: async () => {
          const stats = await this.read<QueueStatsLike[]>('broker');
          if (stats) for (const s of stats) gauge.set({ queue: s.queue }, pick(s));
        },
      });
      return gauge;
    };
    this.queueDepth = queueGauge('parley_queue_depth', 'Messages ready in a queue', (s) => s.depth);
    this.queueConsumers = queueGauge('parley_queue_consumers', 'Consumers attached to a queue', (s) => s.consumers);
    this.queueDeadLetters = queueGauge(
      'parley_queue_dead_letters',
      'Messages in a queue’s dead-letter queue',
      (s) => s.deadLetters,
    );

    const poolGauge = <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      fill: (g: Gauge<L>, s: PoolStatsLike) => void,
    ): Gauge<L> => {
      const gauge: Gauge<L> = new Gauge<L>({
        name,
        help,
        labelNames,
        registers,
        collect: async () => {
          const stats = await this.read<PoolStatsLike[]>('database');
          if (stats) for (const s of stats) fill(gauge, s);
        },
      });
      return gauge;
    };
    this.dbPoolConnections = poolGauge(
      'parley_db_pool_connections',
      'Database connections by pool and state (in_use, idle)',
      ['pool', 'state'] as const,
      (g, s) => {
        g.set({ pool: s.pool, state: 'in_use' }, s.total - s.idle);
        g.set({ pool: s.pool, state: 'idle' }, s.idle);
      },
    );
    this.dbPoolWaiting = poolGauge(
      'parley_db_pool_waiting',
      'Queries waiting for a free database connection',
      ['pool'] as const,
      (g, s) => g.set({ pool: s.pool }, s.waiting),
    );
    this.dbPoolMax = poolGauge('parley_db_pool_max', 'Size limit of a database pool', ['pool'] as const, (g, s) =>
      g.set({ pool: s.pool }, s.max),
    );
    this.cacheRequests = new Counter({
      name: 'parley_cache_requests_total',
      help: 'Cache reads by operation and result (hit, miss, error)',
      labelNames: ['operation', 'result'] as const,
      registers,
    });
    this.sourceUp = new Gauge({
      name: 'parley_metrics_source_up',
      help: 'Whether the last scrape could read the source (1) or not (0)',
      labelNames: ['source'] as const,
      registers,
      // Gauges are collected concurrently: wait for the same reads the adapter gauges wait for.
      collect: async () => {
        await Promise.all([...this.sources.keys()].map((name) => this.read(name)));
      },
    });

    this.wsConnections = new Gauge({ name: 'ws_connections', help: 'Open WebSocket connections', registers });
    this.wsFramesReceived = new Counter({
      name: 'ws_frames_received_total',
      help: 'Frames received over WebSockets',
      registers,
    });
    this.wsFramesDropped = new Counter({
      name: 'ws_frames_dropped_total',
      help: 'Frames not taken, by reason (rate_limited, overloaded, too_large, invalid, refused, failed)',
      labelNames: ['reason'] as const,
      registers,
    });
    this.modelInferenceSeconds = new Histogram({
      name: 'parley_model_inference_seconds',
      help: 'Time spent in one model inference, by model and stage',
      labelNames: ['model', 'stage'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.scoringLatencySeconds = new Histogram({
      name: 'parley_scoring_latency_seconds',
      help: 'Time to analyse one answer, by provider and outcome',
      labelNames: ['provider', 'outcome'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60],
      registers,
    });
    this.llmKeyFailovers = new Counter({
      name: 'parley_llm_key_failovers_total',
      help: 'Provider API keys given up for the next key, by provider and reason',
      labelNames: ['provider', 'reason'] as const,
      registers,
    });
  }

  /** Queue gauges read `stats()` of this broker on each scrape. */
  observeBroker(broker: { stats(): Promise<QueueStatsLike[]> }): void {
    this.sources.set('broker', () => broker.stats());
  }

  /** Pool gauges read `poolStats()` of this database on each scrape (empty for PGlite). */
  observeDatabase(database: { poolStats(): PoolStatsLike[] }): void {
    this.sources.set('database', () => database.poolStats());
  }

  /**
   * Reads a source once per scrape (the queue gauges share one `stats()` call) with a time
   * limit. On failure the gauges it feeds are left empty, not stale, and `sourceUp` says 0.
   */
  private async read<T>(name: string): Promise<T | undefined> {
    const source = this.sources.get(name);
    if (!source) return undefined;
    let pending = this.pending.get(name);
    if (!pending) {
      // prom-client starts every collector synchronously, so one scrape's collectors all find
      // this read in flight; once it settles the next scrape reads afresh.
      pending = withTimeout(Promise.resolve().then(source), SOURCE_TIMEOUT_MS).finally(() => {
        this.pending.delete(name);
      });
      this.pending.set(name, pending);
    }
    try {
      const value = (await pending) as T;
      this.sourceUp.set({ source: name }, 1);
      return value;
    } catch {
      this.sourceUp.set({ source: name }, 0);
      this.resetFedBy(name);
      return undefined;
    }
  }

  private resetFedBy(source: string): void {
    const fed =
      source === 'broker'
        ? [this.queueDepth, this.queueConsumers, this.queueDeadLetters]
        : [this.dbPoolConnections, this.dbPoolWaiting, this.dbPoolMax];
    for (const g of fed) g.reset();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`metrics source timed out after ${ms} ms`)), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}
