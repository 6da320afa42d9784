/**
 * Load shedding: Herald answers 503 with `Retry-After` when it has too much work already, when the event loop lags,
 * or when memory nears its limit, so that an overload turns into retries instead of timeouts or a crash.
 *
 * Work is counted from the moment a request's body has arrived, not while a client sends it: a client trickling its
 * body costs a connection (bounded by `http.max_connections*` and the body's own deadline, `body.ts`), not a share of
 * the work. `/notify` and the public surfaces (`/push`, `/clients`, and anything else) each have their own count, and
 * the public ones are shed first when the process is pressed (at half the event-loop lag, at 90 % of the memory
 * limits), so that an abused public surface can never take what the homeservers need. `/health` is never shed: an
 * instance that is busy is not dead.
 */
import type { Context, Next } from "koa";
import type { LoadSheddingConfig } from "../config/types.js";
import type { Pressure } from "../core/pressure.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import { isNotifyPath } from "./matrix.js";
import { sendUnavailable } from "./responses.js";
import type { RequestState } from "./state.js";

const RETRY_AFTER_S = 1;
/** The public surfaces are shed at these fractions of each pressure threshold. */
const PUBLIC_LAG_SHARE = 0.5;
const PUBLIC_MEMORY_SHARE = 0.9;

type Surface = "notify" | "public";
type Reason = "concurrent_requests" | "event_loop_delay" | "heap" | "memory";

export interface LoadShedding {
  /** Before the body is read: sheds on pressure, or when the surface's work is already at its limit. */
  onArrival: (ctx: Context, next: Next) => Promise<void>;
  /** Once the body has arrived: counts the request as work while it is handled. */
  whileWorking: (ctx: Context, next: Next) => Promise<void>;
}

export function loadShedding(config: LoadSheddingConfig, pressure: Pressure, metrics: GatewayMetrics): LoadShedding {
  const working: Record<Surface, number> = { notify: 0, public: 0 };
  const limit: Record<Surface, number> = {
    notify: config.max_concurrent_requests,
    public: config.max_concurrent_public_requests,
  };
  const full = (surface: Surface) => limit[surface] > 0 && working[surface] >= limit[surface];

  const shed = (ctx: Context, surface: Surface, reason: Reason) => {
    metrics.loadShed.labels(reason, surface).inc();
    ctx.set("Connection", "close");
    sendUnavailable(
      ctx,
      `overloaded (${reason.replaceAll("_", " ")}): retry later`,
      RETRY_AFTER_S,
      (ctx.state as RequestState).requestId,
    );
  };

  const pressed = (surface: Surface): Reason | undefined => {
    const lagShare = surface === "notify" ? 1 : PUBLIC_LAG_SHARE;
    const memoryShare = surface === "notify" ? 1 : PUBLIC_MEMORY_SHARE;
    if (config.max_event_loop_delay > 0 && pressure.eventLoopLagMs() > config.max_event_loop_delay * 1000 * lagShare)
      return "event_loop_delay";
    if (config.max_heap_used < 1 && pressure.heapUsedFraction() > config.max_heap_used * memoryShare) return "heap";
    if (config.max_memory_used < 1 && pressure.memoryUsedFraction() > config.max_memory_used * memoryShare)
      return "memory";
    return undefined;
  };

  return {
    onArrival: async (ctx, next) => {
      if (ctx.path === "/health") return next();
      const surface = surfaceOf(ctx);
      if (full(surface)) return shed(ctx, surface, "concurrent_requests");
      const reason = pressed(surface);
      if (reason) return shed(ctx, surface, reason);
      await next();
    },
    whileWorking: async (ctx, next) => {
      if (ctx.path === "/health") return next();
      const surface = surfaceOf(ctx);
      if (full(surface)) return shed(ctx, surface, "concurrent_requests");
      working[surface]++;
      try {
        await next();
      } finally {
        working[surface]--;
      }
    },
  };
}

function surfaceOf(ctx: Context): Surface {
  return isNotifyPath(ctx.path) ? "notify" : "public";
}
