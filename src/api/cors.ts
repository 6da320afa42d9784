/**
 * CORS for the surfaces that browsers call: push-relay's `/push` (Threema Web) and WalletConnect's `/clients` routes
 * (web wallets), never `/notify`. A preflight `OPTIONS` is answered 204 with the methods and headers the surface takes,
 * and every answer, errors included, names the origin allowed: a page that cannot read a 4xx retries it blindly.
 * `http.cors_allowed_origins` says which origins; `*` (the default) any, as WalletConnect's push server allows.
 */
import type { Context, Next } from "koa";

/** A browser surface: whether a path is one of its routes, and the methods it takes. */
export interface CorsSurface {
  matches(path: string): boolean;
  methods: string;
}

/** The request headers a page may send: WalletConnect's push server allows these two. */
const ALLOWED_HEADERS = "Content-Type, Authorization";
/** The answer headers a page may read beyond the safelisted ones: when to come back after a 429 or a 503. */
const EXPOSED_HEADERS = "Retry-After";
/** How long a browser may cache a preflight's answer, in seconds. */
const PREFLIGHT_MAX_AGE = "86400";

export function cors(allowedOrigins: readonly string[], surfaces: readonly CorsSurface[]) {
  const anyOrigin = allowedOrigins.includes("*");
  return async (ctx: Context, next: Next) => {
    const surface = allowedOrigins.length > 0 ? surfaces.find((s) => s.matches(ctx.path)) : undefined;
    if (surface === undefined) return next();
    const origin = ctx.get("Origin");
    const allowed = anyOrigin ? "*" : allowedOrigins.includes(origin) ? origin : undefined;
    // With a list, the answer depends on the Origin: a cache must not give one origin's answer to another.
    if (!anyOrigin) ctx.vary("Origin");
    if (allowed !== undefined) ctx.set("Access-Control-Allow-Origin", allowed);
    if (ctx.method !== "OPTIONS") {
      if (allowed !== undefined) ctx.set("Access-Control-Expose-Headers", EXPOSED_HEADERS);
      return next();
    }
    if (allowed !== undefined) {
      ctx.set("Access-Control-Allow-Methods", surface.methods);
      ctx.set("Access-Control-Allow-Headers", ALLOWED_HEADERS);
      ctx.set("Access-Control-Max-Age", PREFLIGHT_MAX_AGE);
    }
    ctx.status = 204;
  };
}
