/**
 * The JSON answers Herald gives besides `{"rejected": [...]}`. Errors follow the Matrix shape
 * (`errcode`, `error`); those that concern one request carry its `request_id`, which its log lines carry too.
 */
import type { Context } from "koa";

export function sendJson(ctx: Context, status: number, body: unknown): void {
  ctx.status = status;
  ctx.type = "application/json";
  ctx.body = JSON.stringify(body);
}

export function sendError(ctx: Context, status: number, errcode: string, error: string, requestId?: string): void {
  sendJson(ctx, status, requestId === undefined ? { errcode, error } : { errcode, error, request_id: requestId });
}

/** The spec's answer for an unknown path (404) or an unsupported method (405, with `Allow`). */
export function sendUnrecognized(ctx: Context, allow?: string): void {
  if (allow) ctx.set("Allow", allow);
  sendError(ctx, allow ? 405 : 404, "M_UNRECOGNIZED", "Unrecognized request");
}

/** 503 with `Retry-After`: overloaded or shutting down; the homeserver retries later. */
export function sendUnavailable(ctx: Context, error: string, retryAfter: number, requestId?: string): void {
  ctx.set("Retry-After", String(retryAfter));
  sendError(ctx, 503, "M_UNAVAILABLE", error, requestId);
}
