/**
 * The per-address rate limits of the public surfaces (`push_relay.rate_limits.per_address` on `/push`,
 * `walletconnect.rate_limits.per_address` on `/clients`), which the app runs ahead of `readBodyFirst`: an address over
 * its limit is answered before a byte of its body is read, so that it cannot make Herald receive and buffer bodies
 * (up to a surface's body limit each, for as long as `http.body_timeout` when it stalls them), and its connection is
 * closed rather than drained of the rest.
 *
 * Each surface says which of its requests count and how it answers a refusal (429 with `Retry-After`, in its shape).
 */
import type { Context, Next } from "koa";
import type { ClientAddresses } from "./clientAddress.js";
import type { EdgeRateLimit } from "./rateLimits.js";
import type { RequestState } from "./state.js";

export interface AddressLimit {
  limit: EdgeRateLimit;
  /** Whether a request, by its method and path, counts against the limit. */
  counts: (method: string, path: string) => boolean;
  /** The surface's 429, with `Retry-After: retryAfter`. */
  refuse: (ctx: Context, retryAfter: number) => void;
}

export function addressLimits(limits: readonly AddressLimit[], addresses: ClientAddresses) {
  return async (ctx: Context, next: Next) => {
    const surface = limits.find((l) => l.counts(ctx.method, ctx.path));
    if (surface) {
      const wait = surface.limit.retryAfterForClient(ctx.req, addresses, (ctx.state as RequestState).log);
      if (wait !== undefined) {
        ctx.set("Connection", "close");
        return surface.refuse(ctx, wait);
      }
    }
    await next();
  };
}
