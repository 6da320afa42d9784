/**
 * The rate limits of the public surfaces (`/push`, `/clients`), at the HTTP edge: which key a request counts under,
 * and the count of refusals. Each surface answers a refusal in its own style, 429 with `Retry-After`.
 *
 * Each process counts on its own: with `http.workers` a client whose connections land on several workers can get up
 * to that many times a limit (docs/configuration.md says why the limits are not divided among the workers).
 */
import { hash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Logger } from "pino";
import type { Counter, Registry } from "prom-client";
import type { PushRelayConfig, RateLimitConfig, WalletConnectConfig } from "../config/types.js";
import { RateLimiter } from "../core/rateLimiter.js";
import { sharedCounter } from "../observability/metrics.js";
import { clientAddress, limitKey, type ClientAddresses } from "./clientAddress.js";

/**
 * Keys each limit remembers. A key costs about 150 bytes (a digest or an address, a number, the Map's entry), so a
 * limit under a flood of distinct keys holds about 15 MB.
 */
export const MAX_KEYS_PER_LIMIT = 100_000;

export type Surface = "push_relay" | "walletconnect";
export type LimitName = "per_address" | "per_recipient";

/** `push_relay.rate_limits`: per client address and per recipient; each undefined when off. */
export function pushRelayRateLimits(config: PushRelayConfig["rate_limits"], registry: Registry) {
  return {
    perAddress: EdgeRateLimit.create("push_relay", "per_address", config.per_address, rateLimitedCounter(registry)),
    perRecipient: EdgeRateLimit.create(
      "push_relay",
      "per_recipient",
      config.per_recipient,
      rateLimitedCounter(registry),
    ),
  };
}

/** `walletconnect.rate_limits`: per client address; undefined when off. */
export function walletConnectRateLimits(config: WalletConnectConfig["rate_limits"], registry: Registry) {
  return {
    perAddress: EdgeRateLimit.create("walletconnect", "per_address", config.per_address, rateLimitedCounter(registry)),
  };
}

/** `herald_rate_limited_total`, shared by every surface. */
function rateLimitedCounter(registry: Registry): Counter<"surface" | "limit"> {
  return sharedCounter(registry, {
    name: "herald_rate_limited_total",
    help: "Requests answered 429 because a rate limit was reached, by surface (push_relay, walletconnect) and limit (per_address, per_recipient)",
    labelNames: ["surface", "limit"] as const,
  });
}

/** One limit of one surface. */
export class EdgeRateLimit {
  private readonly limiter: RateLimiter;
  /** Whether the warning about an X-Forwarded-For that was not believed has been logged. */
  private warnedOfProxy = false;

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

  /**
   * Counts a request under its client's address (an IPv6 client's /64), unless that address is one of
   * `http.exempt_addresses`: undefined when it may go on, else the seconds to answer in `Retry-After`.
   *
   * A refused client that sent X-Forwarded-For from a peer not in `http.trusted_proxies` may be a reverse proxy that
   * nobody listed, whose clients then all share its budget: that is logged once, with the fix.
   */
  retryAfterForClient(req: IncomingMessage, addresses: ClientAddresses, log: Logger): number | undefined {
    const peer = req.socket.remoteAddress ?? "";
    const forwardedFor = [req.headers["x-forwarded-for"] ?? []].flat().join(", ");
    const address = clientAddress(peer, forwardedFor, addresses.trustedProxies);
    if (addresses.exempt.has(address)) return undefined;
    const retryAfter = this.retryAfter(limitKey(address));
    if (retryAfter !== undefined && forwardedFor !== "" && !addresses.trustedProxies.has(peer) && !this.warnedOfProxy) {
      this.warnedOfProxy = true;
      log.warn(
        { address, limit: `${this.surface}.rate_limits.${this.name}` },
        "A client that sends X-Forwarded-For reached its rate limit: if it is your reverse proxy, list it in http.trusted_proxies, or all its clients share one budget",
      );
    }
    return retryAfter;
  }
}

/**
 * A recipient's key: the SHA-1 digest (27 characters) of the push type and the token or Threema ID, so that a key is
 * small whatever was sent (a token may be as long as the body allows) and no token is kept whole.
 */
export function recipientKey(type: string, recipient: string): string {
  return hash("sha1", `${type}:${recipient}`, "base64url");
}
