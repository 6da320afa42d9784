/**
 * Isolation by what the device chose. Where each device names the server its pushes go to (a WebPush subscription's
 * push service, see `Pushkin.deviceOrigin`), anyone who can register a pusher chooses that server, and its failures say
 * nothing about the app: they are kept per origin (scheme://host:port), never counted against the app.
 *
 * - Each origin has its own circuit breaker, in a map bounded by `circuit_breaker.max_origins` (least recently used
 *   forgotten first: origins can be invented without end); a forgotten origin starts closed again.
 * - A push service refusing the app's credentials (WebPush 401/403) is that subscription's or that origin's problem.
 *   The app's credentials are doubted only on evidence that its own key is at fault: the same refusal from
 *   `REFUSING_ORIGINS` distinct origins with no push of the app delivered since. A wrong key or a wrong clock shows
 *   at every push service; one subscription made with another key, or one hostile server, shows at one.
 */
import { hash } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { Logger } from "pino";
import type { CircuitBreakerConfig } from "../config/types.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import { CircuitBreaker, type Pass } from "./circuitBreaker.js";
import { CredentialFailure } from "./pushkin.js";

/** Distinct origins refusing the app's credentials, with no delivery in between, that count against the app. */
export const REFUSING_ORIGINS = 3;

/** An origin as logs and messages show it: it comes from a client, and could be a very long host name. */
const SHOWN_ORIGIN_CHARS = 100;

export interface DeviceOriginsOptions {
  pushkin: string;
  breaker: CircuitBreakerConfig;
  metrics: GatewayMetrics;
  log: Logger;
  /** Clock in ms, for the breakers' cool-downs (tests move it). */
  now?: () => number;
}

type FailureKind = "transient" | "credentials" | "permanent";

export class DeviceOrigins {
  /** By the origin's digest: a key of fixed size, however long the origin. Absent when breakers are off. */
  private readonly breakers: LRUCache<string, CircuitBreaker> | undefined;
  /** The origins that refused the app's credentials since its last delivery, by digest; at most REFUSING_ORIGINS. */
  private readonly refusedBy = new Map<string, string>();
  private readonly failures: Record<FailureKind, { inc(): void }>;

  constructor(private readonly options: DeviceOriginsOptions) {
    const { pushkin, breaker, metrics } = options;
    if (breaker.enabled) this.breakers = new LRUCache({ max: breaker.max_origins });
    metrics.watchOriginCircuits(pushkin, () => this.openCount());
    const failures = (kind: FailureKind) => metrics.originFailures.labels(pushkin, kind);
    this.failures = {
      transient: failures("transient"),
      credentials: failures("credentials"),
      permanent: failures("permanent"),
    };
  }

  /** Whether a push to `origin` may go now (see CircuitBreaker.pass); undefined when circuit breakers are off. */
  pass(origin: string): Pass | undefined {
    if (!this.breakers) return undefined;
    const key = digest(origin);
    let breaker = this.breakers.get(key);
    if (!breaker) {
      breaker = this.newBreaker(shownOrigin(origin));
      this.breakers.set(key, breaker);
    }
    return breaker.pass();
  }

  /**
   * A push to `origin` failed there (a TemporaryFailure or PermanentFailure of the pushkin, not the app's own). Returns
   * the evidence against the app's credentials once this refusal completes it.
   */
  failed(origin: string, error: Error): CredentialFailure | undefined {
    const kind = kindOf(error);
    this.failures[kind].inc();
    if (kind !== "credentials") return undefined;
    if (this.refusedBy.size < REFUSING_ORIGINS) this.refusedBy.set(digest(origin), shownOrigin(origin));
    if (this.refusedBy.size < REFUSING_ORIGINS) return undefined;
    const origins = [...this.refusedBy.values()].join(", ");
    return new CredentialFailure(
      `${REFUSING_ORIGINS} push services (${origins}) refused its credentials, and none accepted a push since`,
      { fix: (error as Partial<CredentialFailure>).fix ?? "check the app's credentials" },
    );
  }

  /** A push of the app was delivered: its credentials work, and earlier refusals are no evidence any more. */
  delivered(): void {
    this.refusedBy.clear();
  }

  /** Origins remembered (for tests of the bound). */
  get size(): number {
    return this.breakers?.size ?? 0;
  }

  /** Origins whose pushes fail at once now. */
  openCount(): number {
    let open = 0;
    for (const breaker of this.breakers?.values() ?? []) if (breaker.refusing) open++;
    return open;
  }

  private newBreaker(origin: string): CircuitBreaker {
    const { pushkin, breaker: config, log } = this.options;
    return new CircuitBreaker({
      failureThreshold: config.failure_threshold,
      coolDownMs: config.cool_down * 1000,
      now: this.options.now,
      onChange: (state, failures) => {
        // Not at error: whoever registers a pusher can make an origin fail; the app is not at fault.
        if (state === "open")
          log.warn(
            { pushkin, origin, failures, cool_down_s: config.cool_down },
            "A push service devices chose keeps failing: its circuit is open, pushes to it fail at once (502) until a probe succeeds",
          );
        else if (state === "closed")
          log.info({ pushkin, origin }, "The push service answers again: its circuit closed");
        else log.debug({ pushkin, origin }, "The push service's circuit is half-open: letting one probe push through");
      },
    });
  }
}

/** The origin cut to a length fit for a log line or a 502's message. */
export function shownOrigin(origin: string): string {
  return origin.length <= SHOWN_ORIGIN_CHARS ? origin : `${origin.slice(0, SHOWN_ORIGIN_CHARS)}…`;
}

function kindOf(error: Error): FailureKind {
  if (error instanceof CredentialFailure) return "credentials";
  return error.name === "TemporaryFailure" ? "transient" : "permanent";
}

function digest(origin: string): string {
  return hash("sha1", origin, "base64url");
}
