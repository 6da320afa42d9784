/**
 * `POST /_matrix/push/v1/notify` (and, as in Sygnal, any sub-path and query string): the Push Gateway API.
 *
 * Reads at most 512 KiB (413 beyond), answers Sygnal's exact 400 texts for malformed requests, dispatches, and maps
 * the dispatch result to the homeserver's answer: 200 `{"rejected": [...]}`, 502 (retry: provider failure),
 * 503 (retry: overloaded), 500 (a bug, with the request id).
 */
import type { Context, Next } from "koa";
import type { Dispatcher } from "../core/dispatcher.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import { requestBody } from "./body.js";
import { parseNotificationBody } from "./notificationBody.js";
import { sendError, sendUnavailable, sendUnrecognized } from "./responses.js";
import type { RequestState } from "./state.js";

export const MAX_BODY_BYTES = 512 * 1024;
const NOTIFY_PATH = /^\/_matrix\/push\/v1\/notify(?:\/.*)?$/;
/** The route a span names, sub-paths included. */
export const NOTIFY_ROUTE = "/_matrix/push/v1/notify";

export function isNotifyPath(path: string): boolean {
  return NOTIFY_PATH.test(path);
}
/** Sygnal's `resource` label of `sygnal_requests_in_flight`. */
const RESOURCE = "V1NotifyHandler";

/**
 * The route of /notify, ahead of the router: the one route of nearly every request is matched with one test instead
 * of the router's walk over every route and the middleware chain it composes for each request.
 */
export function notifyRoute(dispatcher: Dispatcher, metrics: GatewayMetrics) {
  const inFlight = metrics.requestsInFlight.labels(RESOURCE);
  return async (ctx: Context, next: Next) => {
    if (!isNotifyPath(ctx.path)) return next();
    if (ctx.method !== "POST") return sendUnrecognized(ctx, "POST");
    inFlight.inc();
    let status = 500; // unless notify() finishes: an exception becomes a 500 in the error boundary
    try {
      await notify(ctx, dispatcher, metrics);
      status = ctx.status;
    } finally {
      inFlight.dec();
      metrics.statusCodes.labels(String(status)).inc();
    }
  };
}

async function notify(ctx: Context, dispatcher: Dispatcher, metrics: GatewayMetrics): Promise<void> {
  const state = ctx.state as RequestState;
  const started = performance.now();
  const body = readBody(ctx);
  if (body === undefined) return;

  const parsed = parseNotificationBody(body);
  if (!parsed.ok) return badRequest(ctx, parsed.message);
  metrics.notificationsReceived.inc();
  const { notification } = parsed;
  if (notification.devices.length === 0) return badRequest(ctx, "No devices in notification");

  const result = await dispatcher.dispatch(notification, state);
  const { requestId } = state;
  switch (result.status) {
    case 200:
      ctx.status = 200;
      ctx.type = "application/json";
      ctx.body = rejectedBody(result.rejected);
      break;
    case 503:
      sendUnavailable(ctx, result.reason, result.retryAfter, requestId);
      break;
    case 502:
      if (result.retryAfter !== undefined) ctx.set("Retry-After", String(Math.ceil(result.retryAfter)));
      sendError(ctx, 502, "M_UNKNOWN", `push provider failure: ${result.reason}`, requestId);
      break;
    case 500:
      sendError(ctx, 500, "M_UNKNOWN", "internal error; the request id ties it to the gateway's log", requestId);
      break;
  }
  metrics.notifyTime.labels(String(ctx.status)).observe((performance.now() - started) / 1000);
}

/** The body's bytes, or undefined once an answer (413, 408, or none for a client gone) has been set. */
function readBody(ctx: Context): Buffer | undefined {
  const read = requestBody(ctx);
  if (read.ok) return read.body;
  if (read.failure === "too_large")
    sendError(ctx, 413, "M_TOO_LARGE", `request body is larger than ${MAX_BODY_BYTES} bytes`);
  else if (read.failure === "too_slow") sendError(ctx, 408, "M_UNKNOWN", "the request body took too long to arrive");
  else badRequest(ctx, "Expected JSON request body");
  return undefined;
}

function badRequest(ctx: Context, message: string): void {
  ctx.status = 400;
  ctx.type = "text/plain; charset=utf-8";
  ctx.body = message;
}

/** Byte for byte what Sygnal sends (Python's json.dumps: spaced separators, ASCII only): `{"rejected": ["a", "b"]}`. */
function rejectedBody(rejected: string[]): string {
  return `{"rejected": [${rejected.map(asciiJson).join(", ")}]}`;
}

/** A JSON string with every character outside printable ASCII written `\uXXXX`, as Python's json.dumps writes it. */
function asciiJson(value: string): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
