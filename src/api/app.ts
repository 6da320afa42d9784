/**
 * The Koa application of the main listener: small middlewares, in the order a request meets them.
 *
 *   requestContext → traceRequests (when tracing is on) → cors (/push, /clients) → errorBoundary → shutdownGate
 *     → loadShedding.onArrival → addressLimits (the per-address limits of /push and /clients)
 *     → readBodyFirst (POST bodies, within http.body_timeout) → loadShedding.whileWorking
 *     → /notify → routes (/health, /push, /clients) → 404 JSON
 */
import { randomUUID } from "node:crypto";
import Router from "@koa/router";
import Koa, { type Context, type Next } from "koa";
import type { Logger } from "pino";
import type { LoadSheddingConfig } from "../config/types.js";
import type { Dispatcher } from "../core/dispatcher.js";
import type { Pressure } from "../core/pressure.js";
import type { ErrorReports } from "../observability/errorReports.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import { logAccess } from "../observability/accessLog.js";
import { endRequestSpan, startRequestSpan } from "../observability/spans.js";
import type { Tracing } from "../observability/tracing.js";
import { addressLimits, type AddressLimit } from "./addressLimit.js";
import type { ClientAddresses } from "./clientAddress.js";
import { cors, type CorsSurface } from "./cors.js";
import { mountHealth } from "./health.js";
import { readBodyFirst, type BodyPace, type BodyRoute } from "./body.js";
import { loadShedding } from "./loadShedding.js";
import { isNotifyPath, MAX_BODY_BYTES, notifyRoute, NOTIFY_ROUTE } from "./matrix.js";
import {
  isPushRelayPath,
  mountPushRelay,
  pushRelayAddressLimit,
  PUSH_RELAY_MAX_BODY_BYTES,
  PUSH_RELAY_ROUTE,
  type PushRelayRoute,
} from "./pushRelay.js";
import { sendError, sendUnavailable, sendUnrecognized } from "./responses.js";
import { RequestContext, type Lifecycle, type RequestState } from "./state.js";
import {
  isWalletConnectPath,
  mountWalletConnect,
  walletConnectAddressLimit,
  WALLETCONNECT_MAX_BODY_BYTES,
  walletConnectRouteOf,
  type WalletConnectRoute,
} from "./walletConnect.js";

export interface AppOptions {
  dispatcher: Dispatcher;
  metrics: GatewayMetrics;
  log: Logger;
  lifecycle: Lifecycle;
  /** `log.access.x_forwarded_for` */
  trustForwardedFor: boolean;
  loadShedding: LoadSheddingConfig;
  pressure: Pressure;
  /** `http.body_timeout` and `http.body_min_rate`. */
  bodyPace: BodyPace;
  /** `http.cors_allowed_origins`, for /push and /clients. */
  corsAllowedOrigins: readonly string[];
  /** `http.trusted_proxies` and `http.exempt_addresses`, for the per-address rate limits of /push and /clients. */
  clientAddresses: ClientAddresses;
  /** push-relay's `POST /push`, when the config has a `push_relay` section. */
  pushRelay?: PushRelayRoute;
  /** WalletConnect's `/clients` API, when the config has a `walletconnect` section. */
  walletConnect?: WalletConnectRoute;
  /** Where the exceptions answered 500 are reported (`metrics.sentry`); none when absent. */
  errorReports?: ErrorReports;
  /** When tracing is on: a server span for each request of /notify, /push and /clients. */
  tracing?: Tracing;
  /** Whether this app serves /notify; false on the public surfaces' own listener (`http.public_listener`). */
  notify?: boolean;
}

/** The route a span names for a path (ids left out), or undefined for a path of another surface. */
type RouteOf = (path: string) => string | undefined;

export function createApp(options: AppOptions): Koa<RequestState> {
  const app = new Koa<RequestState>();
  const router = new Router<RequestState>();
  const browserSurfaces: CorsSurface[] = [];
  const notify = options.notify ?? true;
  const bodyRoutes: BodyRoute[] = notify ? [{ matches: isNotifyPath, limit: MAX_BODY_BYTES }] : [];
  const tracedRoutes: RouteOf[] = notify ? [(path) => (isNotifyPath(path) ? NOTIFY_ROUTE : undefined)] : [];
  const limits: AddressLimit[] = [];
  mountHealth(router);
  if (options.pushRelay) {
    mountPushRelay(router, options.pushRelay);
    if (options.pushRelay.perAddress) limits.push(pushRelayAddressLimit(options.pushRelay.perAddress));
    browserSurfaces.push({ matches: isPushRelayPath, methods: "POST" });
    bodyRoutes.push({ matches: isPushRelayPath, limit: PUSH_RELAY_MAX_BODY_BYTES });
    tracedRoutes.push((path) => (isPushRelayPath(path) ? PUSH_RELAY_ROUTE : undefined));
  }
  if (options.walletConnect) {
    mountWalletConnect(router, options.walletConnect);
    if (options.walletConnect.perAddress) limits.push(walletConnectAddressLimit(options.walletConnect.perAddress));
    browserSurfaces.push({ matches: isWalletConnectPath, methods: "POST, DELETE" });
    bodyRoutes.push({ matches: isWalletConnectPath, limit: WALLETCONNECT_MAX_BODY_BYTES });
    tracedRoutes.push(walletConnectRouteOf);
  }
  const shedding = loadShedding(options.loadShedding, options.pressure, options.metrics);

  app.use(requestContext(options.log, options.trustForwardedFor));
  if (options.tracing) app.use(traceRequests(options.tracing, tracedRoutes));
  app.use(cors(options.corsAllowedOrigins, browserSurfaces));
  app.use(errorBoundary(options.errorReports));
  app.use(shutdownGate(options.lifecycle));
  app.use(shedding.onArrival);
  app.use(addressLimits(limits, options.clientAddresses));
  app.use(readBodyFirst(bodyRoutes, options.bodyPace, options.metrics));
  app.use(shedding.whileWorking);
  if (notify) app.use(notifyRoute(options.dispatcher, options.metrics));
  app.use(router.routes());
  app.use((ctx) => sendUnrecognized(ctx));
  // Errors are answered and logged by errorBoundary; Koa's own handler would print them again.
  app.silent = true;
  return app;
}

function requestContext(log: Logger, trustForwardedFor: boolean) {
  return async (ctx: Context, next: Next) => {
    const started = performance.now();
    const requestId = randomUUID();
    ctx.state = new RequestContext(requestId, log);
    ctx.set("X-Request-Id", requestId);
    try {
      await next();
    } finally {
      logAccess(ctx, log, requestId, performance.now() - started, trustForwardedFor);
    }
  };
}

/**
 * The server span of a request to a traced surface, continuing the caller's trace; it ends with the answer's status,
 * whatever answered (a 503 while draining or shedding, a 500 from the error boundary).
 */
function traceRequests(tracing: Tracing, routes: RouteOf[]) {
  return async (ctx: Context, next: Next) => {
    let route: string | undefined;
    for (const routeOf of routes) if ((route = routeOf(ctx.path)) !== undefined) break;
    if (route === undefined) return next();
    const state = ctx.state as RequestState;
    const request = { method: ctx.method, route, requestId: state.requestId };
    const { span, trace } = startRequestSpan(tracing.tracer, tracing.extract(ctx.req.headers), request);
    state.trace = trace;
    try {
      await next();
    } finally {
      endRequestSpan(span, ctx.status);
    }
  };
}

function errorBoundary(errorReports: ErrorReports | undefined) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (error) {
      const { requestId, log } = ctx.state as RequestState;
      log.error({ err: error }, "Unhandled error while handling the request");
      errorReports?.unexpected(error, { log });
      sendError(ctx, 500, "M_UNKNOWN", "internal error; the request id ties it to the gateway's log", requestId);
    }
  };
}

function shutdownGate(lifecycle: Lifecycle) {
  return async (ctx: Context, next: Next) => {
    if (lifecycle.shuttingDown) {
      ctx.set("Connection", "close");
      return sendUnavailable(ctx, "shutting down", 1, (ctx.state as RequestState).requestId);
    }
    await next();
  };
}
