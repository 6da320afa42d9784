/**
 * One line per request with what Sygnal's access log (Apache combined format) says: client, method, path, HTTP
 * version, status, response size, referer, user agent; plus the duration. /health is logged at debug, as in Sygnal.
 */
import type { Context } from "koa";
import type { Logger } from "pino";

export function logAccess(
  ctx: Context,
  log: Logger,
  requestId: string,
  durationMs: number,
  trustForwardedFor: boolean,
): void {
  const fields = {
    request_id: requestId,
    remote_addr: clientAddress(ctx, trustForwardedFor),
    method: ctx.method,
    path: ctx.originalUrl,
    http_version: ctx.req.httpVersion,
    status: ctx.status,
    bytes: ctx.response.length ?? 0,
    referer: ctx.get("Referer") || "-",
    user_agent: ctx.get("User-Agent") || "-",
    duration_ms: Math.round(durationMs * 100) / 100,
  };
  if (ctx.path === "/health") log.debug(fields, "Handled request");
  else log.info(fields, "Handled request");
}

/** With `x_forwarded_for`, the last address of X-Forwarded-For (the one our proxy added), as Sygnal. */
function clientAddress(ctx: Context, trustForwardedFor: boolean): string {
  if (trustForwardedFor) {
    const forwarded = ctx.get("X-Forwarded-For");
    const last = forwarded.split(",").pop()?.trim();
    if (last) return last;
  }
  return ctx.req.socket.remoteAddress ?? "-";
}
