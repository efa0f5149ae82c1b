import { ROLE_NAMES, type Config } from './config.ts';
import { Container, type ContainerOverrides } from './container.ts';
import { createHttpServer, type HttpServer } from './infra/http/http-server.ts';
import { ROLES } from './roles/index.ts';

export const VERSION = '0.1.0';

export interface RunningServer {
  container: Container;
  http: HttpServer;
  /** The address the HTTP server listens on, e.g. http://127.0.0.1:8080 (set by `listen`). */
  url: string;
  stop(): Promise<void>;
}

/**
 * Builds one process: the adapters its roles need, its HTTP server (health, readiness, metrics,
 * OpenAPI) and each role. `listen: false` leaves the server un-bound for `inject()` tests.
 */
export async function startServer(
  config: Config,
  options: { listen?: boolean } & ContainerOverrides = {},
): Promise<RunningServer> {
  const container = await Container.create(config, options);
  const http = await createHttpServer({
    logger: container.logger,
    metrics: container.metrics,
    bodyLimitBytes: config.server.bodyLimitBytes,
    corsOrigins: config.server.corsOrigins,
    readiness: () => container.readiness(),
    version: VERSION,
  });
  const started: { stop(): Promise<void> }[] = [];
  try {
    // Gateway first: its hooks (IP limit, token check) must run before any other role's.
    const order = ROLE_NAMES.filter((r) => config.server.roles.includes(r));
    for (const role of order) started.push(await ROLES[role].start({ container, http }));
    await http.ready();
    let url = '';
    if (options.listen !== false) url = await http.listen({ host: config.server.host, port: config.server.port });
    let stopping: Promise<void> | undefined;
    return {
      container,
      http,
      url,
      stop: () =>
        (stopping ??= (async () => {
          await http.close();
          for (const role of started.reverse()) await role.stop();
          await container.close();
        })()),
    };
  } catch (error) {
    for (const role of started.reverse()) await role.stop().catch(() => {});
    await http.close().catch(() => {});
    await container.close();
    throw error;
  }
}
