import http from 'node:http';

export interface UpstreamPoolOptions {
  /** Base URLs of the instances, e.g. http://127.0.0.1:8081. */
  urls: string[];
  healthPath?: string;
  intervalMs?: number;
  timeoutMs?: number;
}

interface Instance {
  url: URL;
  healthy: boolean;
}

/**
 * A set of instances of one role, picked round-robin among the healthy ones. A background probe
 * of `/healthz` marks instances up and down; a connection failure marks one down at once so the
 * caller can fail over to the next.
 */
export class UpstreamPool {
  private readonly instances: Instance[];
  private next = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: UpstreamPoolOptions) {
    if (options.urls.length === 0) throw new Error('an upstream pool needs at least one URL');
    this.instances = options.urls.map((u) => ({ url: new URL(u), healthy: true }));
  }

  start(): void {
    const probe = () => void Promise.all(this.instances.map((i) => this.probe(i)));
    probe();
    this.timer = setInterval(probe, this.options.intervalMs ?? 2_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Instances to try for one request, healthy ones first, each at most once. */
  candidates(): URL[] {
    const n = this.instances.length;
    const start = this.next++ % n;
    const ordered = Array.from({ length: n }, (_, k) => this.instances[(start + k) % n]!);
    return [...ordered.filter((i) => i.healthy), ...ordered.filter((i) => !i.healthy)].map((i) => i.url);
  }

  markDown(url: URL): void {
    const instance = this.instances.find((i) => i.url.href === url.href);
    if (instance) instance.healthy = false;
  }

  status(): { url: string; healthy: boolean }[] {
    return this.instances.map((i) => ({ url: i.url.origin, healthy: i.healthy }));
  }

  private probe(instance: Instance): Promise<void> {
    return new Promise((resolve) => {
      const req = http.get(
        new URL(this.options.healthPath ?? '/healthz', instance.url),
        { timeout: this.options.timeoutMs ?? 1_000 },
        (res) => {
          instance.healthy = res.statusCode === 200;
          res.resume();
          resolve();
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        instance.healthy = false;
        resolve();
      });
    });
  }
}
