import http, { type IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../shared/app-error.ts';
import { traceHeaders } from '../telemetry.ts';
import type { UpstreamPool } from './upstream-pool.ts';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

function forwardHeaders(headers: IncomingHttpHeaders, request: FastifyRequest): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers))
    if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
  out['x-forwarded-for'] = [headers['x-forwarded-for'], request.ip].filter(Boolean).join(', ');
  out['x-forwarded-proto'] = request.protocol;
  out['x-request-id'] = request.id;
  // The backend's request span continues the gateway's trace.
  Object.assign(out, traceHeaders());
  return out;
}

/**
 * Forwards one HTTP request to an instance of the owning role. A connection that fails before
 * any response (refused, reset, timed out) marks the instance down and the next one is tried:
 * the request never reached it, so retrying is safe for every method.
 */
export async function forwardRequest(
  pool: UpstreamPool,
  request: FastifyRequest,
  reply: FastifyReply,
  body: Buffer | undefined,
): Promise<FastifyReply> {
  const headers = forwardHeaders(request.headers, request);
  if (body) headers['content-length'] = body.length;
  for (const base of pool.candidates()) {
    const target = new URL(request.url, base);
    const response = await new Promise<http.IncomingMessage | undefined>((resolve) => {
      const upstream = http.request(target, { method: request.method, headers, timeout: 30_000 }, resolve);
      upstream.on('timeout', () => upstream.destroy(new Error('upstream timeout')));
      upstream.on('error', (error) => {
        request.log.warn({ err: error, upstream: base.origin }, 'upstream failed; trying the next instance');
        pool.markDown(base);
        resolve(undefined);
      });
      upstream.end(body);
    });
    if (!response) continue;
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
    }
    return reply
      .code(response.statusCode ?? 502)
      .headers(out)
      .send(response);
  }
  throw new AppError('SERVICE_UNAVAILABLE', 'No instance of the service is reachable');
}

/**
 * Proxies WebSocket upgrades on `path` to the pool: the raw upgrade request is replayed to a
 * healthy instance and the two sockets are piped, so the realtime role speaks to the browser
 * directly. A failed connect tries the next instance.
 */
export function proxyUpgrades(server: http.Server, path: string, pool: UpstreamPool): { close(): void } {
  // Tunnels are invisible to the HTTP server once upgraded; they are tracked here so that a
  // stopping gateway drops them (clients reconnect to another gateway) instead of hanging.
  const tunnels = new Set<Duplex>();
  const track = (s: Duplex) => {
    tunnels.add(s);
    s.once('close', () => tunnels.delete(s));
  };
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!(req.url ?? '').startsWith(path)) return;
    track(socket);
    const candidates = pool.candidates();
    const attempt = () => {
      const base = candidates.shift();
      if (!base) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
        return;
      }
      const upstream = net.connect(Number(base.port || 80), base.hostname);
      track(upstream);
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        const lines = [`${req.method} ${req.url} HTTP/1.1`];
        for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
        lines.push(`X-Forwarded-For: ${req.socket.remoteAddress ?? ''}`);
        upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
        if (head.length) upstream.write(head);
        upstream.pipe(socket).pipe(upstream);
        // One side gone, the tunnel is gone: never leave half of it open.
        socket.once('close', () => upstream.destroy());
        upstream.once('close', () => socket.destroy());
        socket.on('error', () => upstream.destroy());
      });
      upstream.on('error', () => {
        if (connected) return socket.destroy();
        pool.markDown(base);
        if (!socket.destroyed) attempt();
      });
    };
    attempt();
  });
  return {
    close() {
      for (const s of tunnels) s.destroy();
      tunnels.clear();
    },
  };
}
