/**
 * `POST /push`: Threema push-relay's API, which Threema Web calls to wake the phone; mounted only when the config has
 * a `push_relay` section.
 *
 * Reads at most 64 KiB (413 beyond), answers push-relay's plain-text 400s for a bad content type or bad parameters,
 * sends through the engine (src/pushRelay/) and answers as push-relay does: 204 with an empty `text/plain` body, or
 * `Push not successful` with 400, 502 or 500. Any other method on /push is a 405.
 *
 * Herald's limits come first: per client address before the body is read (`pushRelayAddressLimit`, which the app
 * runs in `addressLimits` ahead of `readBodyFirst`), per recipient before the push is sent; over either, 429
 * `Too many requests` with `Retry-After`.
 */
import type Router from "@koa/router";
import type { Context } from "koa";
import type { PushRelayMetrics } from "../pushRelay/metrics.js";
import { contentTypeProblem, parsePushForm, type PushRequest } from "../pushRelay/request.js";
import type { PushRelaySender } from "../pushRelay/sender.js";
import { requestBody } from "./body.js";
import type { AddressLimit } from "./addressLimit.js";
import { recipientKey, type EdgeRateLimit } from "./rateLimits.js";
import type { RequestState } from "./state.js";

export const PUSH_RELAY_MAX_BODY_BYTES = 64 * 1024;
const PUSH_PATH = /^\/push$/;
export const PUSH_RELAY_ROUTE = "/push";

/** Whether a path is push-relay's: its answers carry CORS headers. */
export function isPushRelayPath(path: string): boolean {
  return PUSH_PATH.test(path);
}
const NOT_SUCCESSFUL = "Push not successful";

export interface PushRelayRoute {
  sender: PushRelaySender;
  metrics: PushRelayMetrics;
  /** `push_relay.rate_limits`; undefined: off. */
  perAddress: EdgeRateLimit | undefined;
  perRecipient: EdgeRateLimit | undefined;
}

/** The route; its per-address limit is `pushRelayAddressLimit`, which the app runs before the body is read. */
export function mountPushRelay(router: Router<RequestState>, relay: PushRelayRoute): void {
  router.post(PUSH_PATH, (ctx) => push(ctx, relay));
  router.all(PUSH_PATH, (ctx) => {
    ctx.set("Allow", "POST");
    ctx.status = 405;
    ctx.body = "";
  });
}

/** `push_relay.rate_limits.per_address`, for `addressLimits`: every POST /push counts. */
export function pushRelayAddressLimit(perAddress: EdgeRateLimit): AddressLimit {
  return {
    limit: perAddress,
    counts: (method, path) => method === "POST" && isPushRelayPath(path),
    refuse: tooManyRequests,
  };
}

async function push(ctx: Context, relay: PushRelayRoute): Promise<void> {
  const { sender, metrics } = relay;
  const started = performance.now();
  const log = (ctx.state as RequestState).log;
  // As in push-relay (axum reads the body before its handler runs), the size limit comes before the content type.
  const read = requestBody(ctx);
  if (!read.ok) {
    metrics.badRequests.inc();
    if (read.failure === "too_large")
      return text(ctx, 413, `Request body is larger than ${PUSH_RELAY_MAX_BODY_BYTES} bytes`);
    if (read.failure === "too_slow") return text(ctx, 408, "The request body took too long to arrive");
    return text(ctx, 400, "Cannot read the request body");
  }
  const problem = contentTypeProblem(ctx.req.headers["content-type"]);
  const parsed = problem === undefined ? parsePushForm(read.body) : { ok: false as const, message: problem };
  if (!parsed.ok) {
    metrics.badRequests.inc();
    return text(ctx, 400, parsed.message);
  }

  const { request } = parsed;
  const recipientWait = relay.perRecipient?.retryAfter(recipientKey(request.type, recipientOf(request)));
  if (recipientWait !== undefined) return tooManyRequests(ctx, recipientWait);
  const answer = await sender.push(request, log, (ctx.state as RequestState).trace);
  if (answer.status === 204) {
    ctx.status = 204;
    // Koa drops the Content-Type of a bodiless answer; push-relay sends one.
    ctx.respond = false;
    ctx.res.writeHead(204, { "content-type": "text/plain" });
    ctx.res.end();
  } else {
    ctx.status = answer.status;
    ctx.set("Content-Type", "text/plain");
    ctx.body = NOT_SUCCESSFUL;
  }
  metrics.pushes.labels(request.type, answer.outcome).inc();
  metrics.requestTime.labels(request.type, String(answer.status)).observe((performance.now() - started) / 1000);
}

/** push-relay's error answers: plain text, as axum sends a String. */
function text(ctx: Context, status: number, message: string): void {
  ctx.status = status;
  ctx.type = "text/plain; charset=utf-8";
  ctx.body = message;
}

function tooManyRequests(ctx: Context, retryAfter: number): void {
  ctx.set("Retry-After", String(retryAfter));
  text(ctx, 429, "Too many requests");
}

/**
 * Who the push goes to: the device's token, or the user's Threema ID. An APNs token is hex and a Threema ID upper
 * case whatever case they come in, so that writing one in another case does not make it another recipient.
 */
function recipientOf(request: PushRequest): string {
  if (request.type === "threema-gateway") return request.identity.toUpperCase();
  return request.type === "apns" ? request.token.toLowerCase() : request.token;
}
