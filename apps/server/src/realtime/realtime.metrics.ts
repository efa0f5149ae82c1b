import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Prometheus series of the realtime context, on the process's own registry. */
export class RealtimeMetrics {
  readonly connections: Gauge;
  readonly framesReceived: Counter;
  readonly framesDropped: Counter<'reason'>;
  readonly framesAcked: Counter<'duplicate'>;
  readonly ackSeconds: Histogram;
  readonly outboundDropped: Counter;

  constructor(registry: Registry) {
    // One registry may see several modules (tests build many); reuse a series already registered.
    const reuse = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
    this.connections = reuse(
      'ws_connections',
      () => new Gauge({ name: 'ws_connections', help: 'Open WebSocket connections', registers: [registry] }),
    );
    this.framesReceived = reuse(
      'ws_frames_received_total',
      () =>
        new Counter({
          name: 'ws_frames_received_total',
          help: 'Frames received over WebSockets',
          registers: [registry],
        }),
    );
    this.framesDropped = reuse(
      'ws_frames_dropped_total',
      () =>
        new Counter({
          name: 'ws_frames_dropped_total',
          help: 'Frames not taken, by reason (rate_limited, overloaded, too_large, invalid, refused, failed)',
          labelNames: ['reason'] as const,
          registers: [registry],
        }),
    );
    this.framesAcked = reuse(
      'ws_frames_acked_total',
      () =>
        new Counter({
          name: 'ws_frames_acked_total',
          help: 'Frames stored, announced and acknowledged (duplicate = re-sent)',
          labelNames: ['duplicate'] as const,
          registers: [registry],
        }),
    );
    this.ackSeconds = reuse(
      'ws_frame_ack_seconds',
      () =>
        new Histogram({
          name: 'ws_frame_ack_seconds',
          help: 'From a frame arriving to its acknowledgement being sent',
          buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
          registers: [registry],
        }),
    );
    this.outboundDropped = reuse(
      'ws_outbound_dropped_total',
      () =>
        new Counter({
          name: 'ws_outbound_dropped_total',
          help: 'Live updates not sent to a socket whose reader is too slow',
          registers: [registry],
        }),
    );
  }
}
