/**
 * The rate limits of the public surfaces (`/push`, `/clients`), at the HTTP edge: which key a request counts under,
 * and the count of refusals. Each surface answers a refusal in its own style, 429 with `Retry-After`.
 *
 * Each process counts on its own: with `http.workers` a client whose connections land on several workers can get up
 * to that many times a limit (docs/configuration.md says why the limits are not divided among the workers).
 */
import { hash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Counter, Registry } from "prom-client";
import type { RateLimitConfig } from "../config/types.js";
import { RateLimiter } from "../core/rateLimiter.js";
import { sharedCounter } from "../observability/metrics.js";
import { clientAddress, limitKey, type ClientAddresses } from "./clientAddress.js";

/**
 * Keys each limit remembers. A key costs about 100 bytes (a digest or an address, and a number), so a limit under a
 * flood of distinct keys holds about 10 MB.
 */
export const MAX_KEYS_PER_LIMIT = 100_000;

export type Surface = "push_relay" | "walletconnect";
export type LimitName = "per_address" | "per_recipient";

/** `herald_rate_limited_total`, shared by every surface. */
export function rateLimitedCounter(registry: Registry): Counter<"surface" | "limit"> {
  return sharedCounter(registry, {
    name: "herald_rate_limited_total",
    help: "Requests answered 429 because a rate limit was reached, by surface (push_relay, walletconnect) and limit (per_address, per_recipient)",
    labelNames: ["surface", "limit"] as const,
  });
}

/** One limit of one surface. */
export class EdgeRateLimit {
  private readonly limiter: RateLimiter;

  /** undefined when the config turns the limit off (`requests: 0`). */
  static create(
    surface: Surface,
    name: LimitName,
    config: RateLimitConfig,
    refused: Counter<"surface" | "limit">,
  ): EdgeRateLimit | undefined {
    return config.requests > 0 ? new EdgeRateLimit(surface, name, config, refused) : undefined;
  }

  private constructor(
    private readonly surface: Surface,
    private readonly name: LimitName,
    config: RateLimitConfig,
    private readonly refused: Counter<"surface" | "limit">,
  ) {
    this.limiter = new RateLimiter({ requests: config.requests, periodSeconds: config.period }, MAX_KEYS_PER_LIMIT);
  }

  /** Counts a request under `key`: undefined when it may go on, else the seconds to answer in `Retry-After`. */
  retryAfter(key: string): number | undefined {
    const admission = this.limiter.take(key);
    if (admission.allowed) return undefined;
    this.refused.labels(this.surface, this.name).inc();
    return admission.retryAfterSeconds;
  }
}

/**
 * The key a request counts under for the per-address limits: its client's address (an IPv6 client's /64), or
 * undefined when that address is one of `http.exempt_addresses`.
 */
export function addressKey(req: IncomingMessage, addresses: ClientAddresses): string | undefined {
  const forwardedFor = [req.headers["x-forwarded-for"] ?? []].flat().join(", ");
  const address = clientAddress(req.socket.remoteAddress, forwardedFor, addresses.trustedProxies);
  return addresses.exempt.has(address) ? undefined : limitKey(address);
}

/**
 * A recipient's key: the push type and a digest of the token or Threema ID, so that a key is small whatever was sent
 * (a token may be as long as the body allows) and no token is kept whole.
 */
export function recipientKey(type: string, recipient: string): string {
  return `${type}:${hash("sha256", recipient, "base64url").slice(0, 22)}`;
}
