/**
 * A running Herald: the pushkins, the dispatcher, push-relay's and WalletConnect's engines when configured (the latter
 * with its registry, opened now), the HTTP listeners (one per
 * `http.bind_addresses`), the public surfaces' own listeners when `http.public_listener` is set, and the Prometheus
 * listener, started from a validated config and stopped gracefully.
 *
 * Shutdown: stop accepting connections, answer 503 (`Retry-After`, `Connection: close`) to requests that still
 * arrive on open connections, let in-flight requests finish for up to `shutdown_timeout`, then close every
 * connection, every pushkin and the Redis client, send the error reports still queued, and export the spans
 * still buffered (when tracing is on), all within a bound.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type Koa from "koa";
import type { Logger } from "pino";
import { createApp } from "./api/app.js";
import { pushRelayRateLimits, walletConnectRateLimits } from "./api/rateLimits.js";
import { createApiServer } from "./api/httpServer.js";
import type { Lifecycle } from "./api/state.js";
import type { HeraldConfig } from "./config/types.js";
import { Dispatcher, type PushkinEntry } from "./core/dispatcher.js";
import { LocalMemory, type DispatchMemory } from "./core/dispatchMemory.js";
import { InflightLimiter } from "./core/inflightLimiter.js";
import type { Pushkin } from "./core/pushkin.js";
import { AppRouter } from "./core/routing.js";
import { circuitBreakerFor } from "./core/pushkinBreaker.js";
import { CredentialHealth } from "./core/credentialHealth.js";
import { DeviceOrigins } from "./core/deviceOrigins.js";
import { availableMemory, Pressure } from "./core/pressure.js";
import { AddressSet } from "./api/clientAddress.js";
import { ConnectionLimits } from "./api/connectionLimits.js";
import { NO_ERROR_REPORTS, type ErrorReports } from "./observability/errorReports.js";
import { GatewayMetrics } from "./observability/metrics.js";
import { createMetricsServer } from "./observability/metricsServer.js";
import { startTracing, type Tracing } from "./observability/tracing.js";
import { loadPushkins } from "./pushkins/load.js";
import { pushRelayMetrics } from "./pushRelay/metrics.js";
import { PushRelaySender } from "./pushRelay/sender.js";
import { readPushRelaySettings } from "./pushRelay/settings.js";
import { HTTP_LISTENER_KEYS, METRICS_LISTENER_KEYS, PUBLIC_LISTENER_KEYS } from "./config/listeners.js";
import { listen } from "./core/listen.js";
import { openStore, StoreOpenError } from "./store/index.js";
import { walletConnectMetrics } from "./walletConnect/metrics.js";
import { sendersByTenant } from "./walletConnect/senders.js";
import { WalletConnectService } from "./walletConnect/service.js";
import { readWalletConnectSettings } from "./walletConnect/settings.js";

/** After the drain, how long closing the pushkins, their connections and the registry may take. */
const CLOSE_GRACE_MS = 2500;

/** Within that grace, how long the error reports still queued may take to be sent. */
const REPORTS_FLUSH_MS = 2000;

/** How often credentials that can expire without a push noticing (APNs certificates) are looked at again. */
const CREDENTIAL_CHECK_MS = 60 * 60_000;

export interface Herald {
  /** Where the push API listens (actual ports, also when the config says 0). */
  readonly addresses: AddressInfo[];
  /** The public surfaces' own listeners (`http.public_listener`); empty without one. */
  readonly publicAddresses: AddressInfo[];
  readonly metricsAddress: AddressInfo | undefined;
  readonly metrics: GatewayMetrics;
  /** Present while tracing is on (`metrics.opentelemetry`, `metrics.opentracing`). */
  readonly tracing: Tracing | undefined;
  /** Graceful: drains in-flight requests for up to `shutdown_timeout`, then closes everything. */
  shutdown(): Promise<void>;
}

export interface StartOptions {
  /** Serve `metrics.prometheus` from this process; a worker leaves it to the primary, which aggregates. */
  metricsListener?: boolean;
  /** Duplicate suppression and the dead-token cache, when not this process's own: a worker's, shared (clusterMemory.ts). */
  memory?: (config: HeraldConfig) => DispatchMemory;
  /**
   * Where unexpected errors are reported (`metrics.sentry`, opened by the caller, which reports a failed start-up);
   * none when absent. The Herald's shutdown sends what is still queued and closes them.
   */
  errorReports?: ErrorReports;
}

export async function startHerald(config: HeraldConfig, log: Logger, options: StartOptions = {}): Promise<Herald> {
  const errorReports = options.errorReports ?? NO_ERROR_REPORTS;
  const metrics = new GatewayMetrics({ processMetrics: config.metrics.prometheus.enabled });
  const serveMetrics = config.metrics.prometheus.enabled && options.metricsListener !== false;
  const pushkins = await loadPushkins(config, metrics, log, { standInForBrokenCredentials: true });
  const credentials = new CredentialHealth(metrics, log);
  let pushRelay: PushRelaySender | undefined;
  let walletConnect: WalletConnectService | undefined;
  let memory: DispatchMemory | undefined;
  let tracing: Tracing | undefined;
  try {
    pushRelay = config.push_relay && createPushRelaySender(config, metrics, log);
    walletConnect =
      config.walletconnect && (await createWalletConnectService(config, pushkins, metrics, credentials, log));
    memory = await openDispatchMemory(config, metrics, log, options.memory);
    tracing = await startTracing(config.tracing, log);
  } catch (error) {
    // What opened before the failure, the Redis client among them, would otherwise keep the process alive.
    await closeAll([], pushkins, pushRelay, walletConnect, memory, tracing);
    throw error;
  }
  const entries = new Map<string, PushkinEntry>();
  for (const pushkin of pushkins) {
    const app = config.apps[pushkin.name]!;
    metrics.registerPushkin(pushkin.name);
    credentials.register(pushkin.name);
    const breaker = { ...config.circuit_breaker, ...app.circuit_breaker };
    // An app whose devices choose where they are pushed has its breakers per origin, and none of its own.
    const origins = pushkin.deviceOrigin && new DeviceOrigins({ pushkin: pushkin.name, breaker, metrics, log });
    entries.set(pushkin.name, {
      pushkin,
      type: app.type,
      limiter: new InflightLimiter(app.inflight_request_limit),
      breaker: origins ? undefined : circuitBreakerFor(pushkin.name, breaker, metrics, log),
      origins,
    });
  }
  const dispatcher = new Dispatcher({
    router: new AppRouter(entries),
    metrics,
    memory,
    credentials,
    requestDeadline: config.request_deadline,
    errorReports,
  });
  const checkCredentials = () => {
    for (const pushkin of pushkins) {
      const problem = pushkin.credentialProblem?.();
      if (problem) credentials.problem(pushkin.name, problem);
    }
  };
  checkCredentials();
  const credentialCheck = setInterval(checkCredentials, CREDENTIAL_CHECK_MS).unref();
  const lifecycle: Lifecycle = { shuttingDown: false };
  const pressure = new Pressure(availableMemory(config.http.workers));
  const clientAddresses = {
    trustedProxies: new AddressSet(config.http.trusted_proxies),
    exempt: new AddressSet(config.http.exempt_addresses),
  };
  const connectionLimitsFor = () =>
    new ConnectionLimits(config.http, clientAddresses.exempt, clientAddresses.trustedProxies, metrics);
  const publicListener = config.http.public_listener;
  const appOptions = {
    dispatcher,
    metrics,
    log,
    lifecycle,
    trustForwardedFor: config.log.access.x_forwarded_for,
    loadShedding: config.load_shedding,
    pressure,
    bodyPace: { timeout: config.http.body_timeout, minRate: config.http.body_min_rate },
    corsAllowedOrigins: config.http.cors_allowed_origins,
    clientAddresses,
    pushRelay: pushRelay && {
      sender: pushRelay,
      metrics: pushRelayMetrics(metrics.registry),
      ...pushRelayRateLimits(config.push_relay!.rate_limits, metrics.registry),
    },
    walletConnect: walletConnect && {
      service: walletConnect,
      ...walletConnectRateLimits(config.walletconnect!.rate_limits, metrics.registry),
    },
    errorReports,
    tracing,
  };
  // With a public listener, /push and /clients are served there alone, and the homeservers' listener serves /notify:
  // each has its own connection queue and connection caps, so that a flood on one never waits ahead of the other.
  const handler = createApp(
    publicListener ? { ...appOptions, pushRelay: undefined, walletConnect: undefined } : appOptions,
  ).callback();
  const publicHandler = publicListener && createApp({ ...appOptions, notify: false }).callback();

  const servers: Server[] = [];
  const publicServers: Server[] = [];
  let inflight = 0;
  let drained: (() => void) | undefined;
  const counted = (serve: ReturnType<Koa["callback"]>) => (req: IncomingMessage, res: ServerResponse) => {
    inflight++;
    res.on("close", () => {
      if (--inflight === 0) drained?.();
    });
    void serve(req, res);
  };
  try {
    const connectionLimits = connectionLimitsFor();
    for (const address of config.http.bind_addresses) {
      const server = createApiServer(counted(handler), log, connectionLimits);
      servers.push(server);
      await listen(server, config.http.port, address, HTTP_LISTENER_KEYS);
    }
    if (publicListener && publicHandler) {
      const publicLimits = connectionLimitsFor();
      for (const address of publicListener.bind_addresses) {
        const server = createApiServer(counted(publicHandler), log, publicLimits);
        servers.push(server);
        publicServers.push(server);
        await listen(server, publicListener.port, address, PUBLIC_LISTENER_KEYS);
      }
    }
    const metricsServer = serveMetrics ? createMetricsServer(metrics.registry) : undefined;
    if (metricsServer) {
      servers.push(metricsServer);
      await listen(
        metricsServer,
        config.metrics.prometheus.port,
        config.metrics.prometheus.address,
        METRICS_LISTENER_KEYS,
      );
    }
  } catch (error) {
    clearInterval(credentialCheck);
    pressure.stop();
    await closeAll(servers, pushkins, pushRelay, walletConnect, memory, tracing);
    throw error;
  }

  const addresses = servers.slice(0, config.http.bind_addresses.length).map((s) => s.address() as AddressInfo);
  for (const a of addresses) log.info({ address: a.address, port: a.port }, "Listening for push requests");
  const publicAddresses = publicServers.map((s) => s.address() as AddressInfo);
  for (const a of publicAddresses)
    log.info({ address: a.address, port: a.port }, "Listening for the public surfaces (/push, /clients)");
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
      clearInterval(credentialCheck);
      pressure.stop();
      // Closing the memory also answers the requests the drain gave up on that still wait on it (clusterMemory.ts).
      const closedInTime = await Promise.race([
        Promise.all([
          closeAll(servers, pushkins, pushRelay, walletConnect, memory, tracing),
          errorReports.close(REPORTS_FLUSH_MS),
        ]).then(() => true),
        sleep(CLOSE_GRACE_MS).then(() => false),
      ]);
      if (!closedInTime)
        log.warn(
          `Closing the providers' connections and exporting the last spans took over ${CLOSE_GRACE_MS} ms: left to exit`,
        );
      log.info("Shut down");
    })());

  return { addresses, publicAddresses, metricsAddress, metrics, tracing, shutdown };
}

async function closeAll(
  servers: Server[],
  pushkins: Pushkin[],
  pushRelay?: PushRelaySender,
  walletConnect?: WalletConnectService,
  memory?: DispatchMemory,
  tracing?: Tracing,
): Promise<void> {
  for (const server of servers) {
    server.close();
    server.closeAllConnections();
  }
  // The spans of the requests just drained are exported now, alongside; each export gives up within the grace.
  await Promise.allSettled([
    ...pushkins.map((p) => p.close()),
    pushRelay?.close(),
    walletConnect?.close(),
    memory?.close(),
    tracing?.shutdown(),
  ]);
}

/**
 * Duplicate suppression and the dead-token cache: shared through Redis when the config has a `redis` section (its
 * client loaded only then, every worker and instance sharing it); else the one given (a worker's: the primary's);
 * else this process's own.
 */
async function openDispatchMemory(
  config: HeraldConfig,
  metrics: GatewayMetrics,
  log: Logger,
  given: StartOptions["memory"],
): Promise<DispatchMemory> {
  if (!config.redis) return given?.(config) ?? new LocalMemory(config);
  const { RedisMemory } = await import("./core/redisMemory.js");
  return RedisMemory.open({ ...config, redis: config.redis, registry: metrics.registry, log });
}

/** push-relay's engine for `POST /push`, its credentials read now. */
export function createPushRelaySender(config: HeraldConfig, metrics: GatewayMetrics, log: Logger): PushRelaySender {
  return PushRelaySender.create(readPushRelaySettings(config.push_relay!, config.dir), {
    requestDeadline: config.request_deadline,
    proxy: config.proxy,
    metrics: metrics.registry,
    log,
  });
}

/**
 * WalletConnect's engine for `/clients`: the section checked against the apps, then the registry opened (and migrated).
 * A registry that cannot be opened stops start-up, its message naming the key.
 */
async function createWalletConnectService(
  config: HeraldConfig,
  pushkins: Pushkin[],
  metrics: GatewayMetrics,
  credentials: CredentialHealth,
  log: Logger,
): Promise<WalletConnectService> {
  const settings = readWalletConnectSettings(config.walletconnect!, config.apps, config.dir);
  let registry;
  try {
    registry = await openStore(settings.store);
  } catch (error) {
    if (error instanceof StoreOpenError) throw new StoreOpenError(`walletconnect.store: ${error.message}`);
    throw error;
  }
  return new WalletConnectService({
    settings,
    registry,
    senders: sendersByTenant(settings, pushkins),
    metrics: walletConnectMetrics(metrics.registry, () => registry.countClients()),
    credentials,
    requestDeadline: config.request_deadline,
    log: log.child({ api: "walletconnect" }),
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
