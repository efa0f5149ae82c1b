import type { Container } from '../container.ts';
import type { HttpServer } from '../infra/http/http-server.ts';

export interface RoleContext {
  container: Container;
  /** The process's HTTP server; routes are registered before it listens. */
  http: HttpServer;
}

/** A role is started once per process; `stop` lets in-flight work finish. */
export interface Role {
  start(ctx: RoleContext): Promise<{ stop(): Promise<void> }>;
}

export const noop = { stop: async () => {} };
