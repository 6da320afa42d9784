/**
 * Caps on the client connections a process holds: `http.max_connections` in total and
 * `http.max_connections_per_address` for one client address (an IPv6 /64), so that a few clients cannot take every
 * socket, file descriptor and buffer. The homeservers named in `http.exempt_addresses` are never refused (a large
 * homeserver opens thousands of connections from a few addresses), nor are trusted proxies held to the per-address
 * cap (every client behind them shares their address).
 *
 * A refused connection is not reset: it is answered 503 with Retry-After and closed gracefully, so that the client
 * reads why and retries later.
 */
import type { Socket } from "node:net";
import type { ConnectionLimitsConfig } from "../config/types.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import { limitKey, type AddressSet } from "./clientAddress.js";

export type Refusal = "total" | "per_address";

export class ConnectionLimits {
  private open = 0;
  private readonly perKey = new Map<string, number>();

  constructor(
    private readonly config: Pick<ConnectionLimitsConfig, "max_connections" | "max_connections_per_address">,
    private readonly exempt: AddressSet,
    private readonly trustedProxies: AddressSet,
    private readonly metrics: GatewayMetrics,
  ) {}

  /** Counts the connection until it closes, or says which cap refuses it. */
  admit(socket: Socket): Refusal | undefined {
    const address = socket.remoteAddress ?? "";
    const exempt = this.exempt.has(address);
    const key = exempt || this.trustedProxies.has(address) ? undefined : limitKey(address);
    const { max_connections: total, max_connections_per_address: perAddress } = this.config;
    const refusal: Refusal | undefined =
      !exempt && total > 0 && this.open >= total
        ? "total"
        : key !== undefined && perAddress > 0 && (this.perKey.get(key) ?? 0) >= perAddress
          ? "per_address"
          : undefined;
    if (refusal) {
      this.metrics.connectionsRefused.labels(refusal).inc();
      return refusal;
    }
    this.open++;
    this.metrics.connections.inc();
    if (key !== undefined) this.perKey.set(key, (this.perKey.get(key) ?? 0) + 1);
    socket.once("close", () => {
      this.open--;
      this.metrics.connections.dec();
      if (key === undefined) return;
      const left = (this.perKey.get(key) ?? 1) - 1;
      if (left > 0) this.perKey.set(key, left);
      else this.perKey.delete(key);
    });
    return undefined;
  }
}
