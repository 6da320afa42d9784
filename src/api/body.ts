/**
 * Request bodies, read before a request counts as work (`loadShedding.ts`), at most a surface's limit, and within a
 * deadline: a body must arrive within `http.body_timeout` and, after its first second, average at least
 * `http.body_min_rate` bytes a second. A client that trickles its body (to hold a connection and its buffer) is
 * answered 408 and its connection closed, within about a second of falling behind.
 */
import type { IncomingMessage } from "node:http";
import type { Context, Next } from "koa";
import getRawBody from "raw-body";
import type { GatewayMetrics } from "../observability/metrics.js";

export type BodyRead = { ok: true; body: Buffer } | { ok: false; failure: "too_large" | "too_slow" | "unreadable" };

/** `http.body_timeout` (seconds) and `http.body_min_rate` (bytes a second; 0: none). */
export interface BodyPace {
  timeout: number;
  minRate: number;
}

/** The POST routes that take a body, and how large it may be. */
export interface BodyRoute {
  matches: (path: string) => boolean;
  limit: number;
}

/** A body's first second is not held to the minimum rate: a connection's start is slow. */
const GRACE_MS = 1000;

/** Reads the body of a POST to one of `routes` into the request's state, for `requestBody()`. */
export function readBodyFirst(routes: readonly BodyRoute[], pace: BodyPace, metrics: GatewayMetrics) {
  return async (ctx: Context, next: Next) => {
    const route = ctx.method === "POST" ? routes.find((r) => r.matches(ctx.path)) : undefined;
    if (route) {
      const read = await readRequestBody(ctx.req, route.limit, pace, (limit) => metrics.slowBodies.labels(limit).inc());
      // The rest of an oversized, slow or broken body is not read: the connection closes after the answer.
      if (!read.ok) ctx.set("Connection", "close");
      bodies.set(ctx, read);
    }
    await next();
  };
}

const bodies = new WeakMap<Context, BodyRead>();

/** The body `readBodyFirst` read for this request. */
export function requestBody(ctx: Context): BodyRead {
  const read = bodies.get(ctx);
  if (read === undefined) throw new Error(`no body was read for ${ctx.method} ${ctx.path}`);
  return read;
}

export async function readRequestBody(
  req: IncomingMessage,
  limit: number,
  pace: BodyPace,
  onTooSlow: (limit: "timeout" | "min_rate") => void = () => {},
): Promise<BodyRead> {
  const arrived = arrivedBody(req, limit);
  if (arrived) return { ok: true, body: arrived };
  const reading = getRawBody(req, { length: req.headers["content-length"], limit });
  const watch = watchPace(req, pace);
  try {
    const body = await Promise.race([reading, watch.tooSlow]);
    return { ok: true, body };
  } catch (error) {
    if (error instanceof TooSlow) {
      onTooSlow(error.limit);
      // raw-body is left to fail when the connection closes.
      reading.catch(() => {});
      return { ok: false, failure: "too_slow" };
    }
    return {
      ok: false,
      failure: (error as { type?: string }).type === "entity.too.large" ? "too_large" : "unreadable",
    };
  } finally {
    watch.stop();
  }
}

/**
 * The body, when all of it came with the head (as a homeserver's small POST does, in one packet): as many bytes as
 * its Content-Length says are already buffered (the parser gives a request no byte past its length), within the
 * limit. It is taken from the buffer at once, with no reader, timer or listener. Anything else (a body still
 * arriving, chunked, or too long) is left to the reader, which decides as it always does.
 */
function arrivedBody(req: IncomingMessage, limit: number): Buffer | undefined {
  const declared = req.headers["content-length"];
  if (declared === undefined) return undefined;
  const length = Number(declared);
  if (length > limit || req.readableLength !== length) return undefined;
  if (length === 0) return Buffer.alloc(0);
  const body = req.read() as Buffer | null;
  if (body?.length === length) return body;
  if (body) req.unshift(body);
  return undefined;
}

class TooSlow extends Error {
  constructor(readonly limit: "timeout" | "min_rate") {
    super(`the request body was too slow (${limit})`);
  }
}

/**
 * One timer per body, set to the moment the body would fall behind given what has arrived so far; when it fires,
 * it either finds that more has arrived since and moves on, or rejects.
 */
function watchPace(req: IncomingMessage, pace: BodyPace): { tooSlow: Promise<never>; stop: () => void } {
  const started = performance.now();
  const timeoutMs = pace.timeout * 1000;
  let received = 0;
  const count = (chunk: Buffer) => (received += chunk.length);
  req.on("data", count);
  let timer: NodeJS.Timeout | undefined;
  const tooSlow = new Promise<never>((_, reject) => {
    const check = () => {
      const allowedMs = pace.minRate > 0 ? Math.min(timeoutMs, GRACE_MS + (received / pace.minRate) * 1000) : timeoutMs;
      const late = performance.now() - started - allowedMs;
      if (late >= 0) return reject(new TooSlow(allowedMs < timeoutMs ? "min_rate" : "timeout"));
      timer = setTimeout(check, Math.max(1, -late));
    };
    check();
  });
  tooSlow.catch(() => {});
  return {
    tooSlow,
    stop: () => {
      clearTimeout(timer);
      req.off("data", count);
    },
  };
}
