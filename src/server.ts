/**
 * A running Herald: the pushkins, the dispatcher, the HTTP listeners (one per `http.bind_addresses`) and the
 * Prometheus listener, started from a validated config and stopped gracefully.
 *
 * Shutdown: stop accepting connections, answer 503 (`Retry-After`, `Connection: close`) to requests that still
 * arrive on open connections, let in-flight requests finish for up to `shutdown_timeout`, then close every
 * connection and every pushkin.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { createApp } from "./api/app.js";
import { createApiServer } from "./api/httpServer.js";
import type { Lifecycle } from "./api/state.js";
import type { HeraldConfig } from "./config/types.js";
import { Dispatcher, type PushkinEntry } from "./core/dispatcher.js";
import { ExpiringSet } from "./core/expiringSet.js";
import { InflightLimiter } from "./core/inflightLimiter.js";
import type { Pushkin } from "./core/pushkin.js";
import { AppRouter } from "./core/routing.js";
import { GatewayMetrics } from "./observability/metrics.js";
import { createMetricsServer } from "./observability/metricsServer.js";
import { loadPushkins } from "./pushkins/load.js";
import { listen } from "./core/listen.js";

export interface Herald {
  /** Where the push API listens (actual ports, also when the config says 0). */
  readonly addresses: AddressInfo[];
  readonly metricsAddress: AddressInfo | undefined;
  readonly metrics: GatewayMetrics;
  /** Graceful: drains in-flight requests for up to `shutdown_timeout`, then closes everything. */
  shutdown(): Promise<void>;
}

export interface StartOptions {
  /** Serve `metrics.prometheus` from this process; a worker leaves it to the primary, which aggregates. */
  metricsListener?: boolean;
}

export async function startHerald(config: HeraldConfig, log: Logger, options: StartOptions = {}): Promise<Herald> {
  const metrics = new GatewayMetrics({ processMetrics: config.metrics.prometheus.enabled });
  const serveMetrics = config.metrics.prometheus.enabled && options.metricsListener !== false;
  const pushkins = await loadPushkins(config, metrics, log);
  const entries = new Map<string, PushkinEntry>();
  for (const pushkin of pushkins) {
    metrics.registerPushkin(pushkin.name);
    entries.set(pushkin.name, {
      pushkin,
      limiter: new InflightLimiter(config.apps[pushkin.name]!.inflight_request_limit),
    });
  }
  const dispatcher = new Dispatcher({
    router: new AppRouter(entries),
    metrics,
    deadTokens: new ExpiringSet(config.dead_token_cache),
    deliveries: new ExpiringSet(config.duplicate_suppression),
    requestDeadline: config.request_deadline,
  });
  const lifecycle: Lifecycle = { shuttingDown: false };
  const app = createApp({ dispatcher, metrics, log, lifecycle, trustForwardedFor: config.log.access.x_forwarded_for });
  const handler = app.callback();

  const servers: Server[] = [];
  let inflight = 0;
  let drained: (() => void) | undefined;
  try {
    for (const address of config.http.bind_addresses) {
      const server = createApiServer((req, res) => {
        inflight++;
        res.on("close", () => {
          if (--inflight === 0) drained?.();
        });
        void handler(req, res);
      }, log);
      servers.push(server);
      await listen(server, config.http.port, address);
    }
    const metricsServer = serveMetrics ? createMetricsServer(metrics.registry) : undefined;
    if (metricsServer) {
      servers.push(metricsServer);
      await listen(metricsServer, config.metrics.prometheus.port, config.metrics.prometheus.address);
    }
  } catch (error) {
    await closeAll(servers, pushkins);
    throw error;
  }

  const addresses = servers.slice(0, config.http.bind_addresses.length).map((s) => s.address() as AddressInfo);
  for (const a of addresses) log.info({ address: a.address, port: a.port }, "Listening for push requests");
  const metricsAddress = serveMetrics ? (servers.at(-1)!.address() as AddressInfo) : undefined;
  if (metricsAddress)
    log.info({ address: metricsAddress.address, port: metricsAddress.port }, "Serving Prometheus metrics");

  let stopping: Promise<void> | undefined;
  const shutdown = () =>
    (stopping ??= (async () => {
      lifecycle.shuttingDown = true;
      log.info({ inflight, timeout_s: config.shutdown_timeout }, "Shutting down: finishing in-flight requests");
      for (const server of servers) {
        server.close();
        server.closeIdleConnections();
      }
      if (inflight > 0) {
        const allDone = new Promise<void>((resolve) => (drained = resolve));
        const timedOut = await Promise.race([
          allDone.then(() => false),
          sleep(config.shutdown_timeout * 1000).then(() => true),
        ]);
        if (timedOut) log.warn({ inflight }, "Shutdown timeout: closing connections with requests still in flight");
      }
      await closeAll(servers, pushkins);
      log.info("Shut down");
    })());

  return { addresses, metricsAddress, metrics, shutdown };
}

async function closeAll(servers: Server[], pushkins: Pushkin[]): Promise<void> {
  for (const server of servers) {
    server.close();
    server.closeAllConnections();
  }
  await Promise.allSettled(pushkins.map((p) => p.close()));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
