/**
 * Load shedding: before a request is read, Herald answers 503 with `Retry-After` when too many requests are already
 * being handled, when the event loop lags, or when the heap nears its limit, so that an overload turns into retries
 * instead of timeouts, unbounded memory or a crash. `/health` is never shed: an instance that is busy is not dead.
 */
import type { Context, Next } from "koa";
import type { LoadSheddingConfig } from "../config/types.js";
import type { Pressure } from "../core/pressure.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import { sendUnavailable } from "./responses.js";
import type { RequestState } from "./state.js";

const RETRY_AFTER_S = 1;

export function loadShedding(config: LoadSheddingConfig, pressure: Pressure, metrics: GatewayMetrics) {
  let concurrent = 0;
  const shed = (ctx: Context, reason: "concurrent_requests" | "event_loop_delay" | "heap") => {
    metrics.loadShed.labels(reason).inc();
    ctx.set("Connection", "close");
    sendUnavailable(
      ctx,
      `overloaded (${reason.replaceAll("_", " ")}): retry later`,
      RETRY_AFTER_S,
      (ctx.state as RequestState).requestId,
    );
  };
  return async (ctx: Context, next: Next) => {
    if (ctx.path === "/health") return next();
    if (config.max_concurrent_requests > 0 && concurrent >= config.max_concurrent_requests)
      return shed(ctx, "concurrent_requests");
    if (config.max_event_loop_delay > 0 && pressure.eventLoopLagMs() > config.max_event_loop_delay * 1000)
      return shed(ctx, "event_loop_delay");
    if (config.max_heap_used < 1 && pressure.heapUsedFraction() > config.max_heap_used) return shed(ctx, "heap");
    concurrent++;
    try {
      await next();
    } finally {
      concurrent--;
    }
  };
}
