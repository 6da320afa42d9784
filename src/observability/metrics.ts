/**
 * The gateway's Prometheus metrics, with Sygnal's names, types and labels so that Sygnal's Grafana dashboard keeps
 * working, plus Herald's own (`herald_*`). Each Herald instance has its own registry; pushkins register theirs in it.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** prometheus_client's (Python) default buckets, which Sygnal's histograms use. */
export const PYTHON_DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

type LabelledCounter = ReturnType<Counter<string>["labels"]>;

export interface PushkinCounters {
  handedOver: LabelledCounter;
  deadTokenHits: LabelledCounter;
  duplicatesSuppressed: LabelledCounter;
  inflightLimitDrop: LabelledCounter;
  shortCircuited: LabelledCounter;
  originShortCircuited: LabelledCounter;
  outcomes: Record<"delivered" | "skipped" | "rejected" | "failed", LabelledCounter>;
}

export class GatewayMetrics {
  readonly registry = new Registry();

  readonly notificationsReceived = new Counter({
    name: "sygnal_notifications_received_total",
    help: "Number of notification pokes received",
    registers: [this.registry],
  });
  readonly devicesReceived = new Counter({
    name: "sygnal_notifications_devices_received_total",
    help: "Number of devices been asked to push",
    registers: [this.registry],
  });
  readonly perPushkinType = new Counter({
    name: "sygnal_per_pushkin_type_total",
    help: "Number of pushes sent via each type of pushkin",
    labelNames: ["pushkin"],
    registers: [this.registry],
  });
  readonly statusCodes = new Counter({
    name: "sygnal_pushgateway_status_codes_total",
    help: "HTTP Response Codes given on the Push Gateway API",
    labelNames: ["code"],
    registers: [this.registry],
  });
  readonly notifyTime = new Histogram({
    name: "sygnal_notify_time",
    help: "Time taken to handle /notify push gateway request",
    labelNames: ["code"],
    buckets: PYTHON_DEFAULT_BUCKETS,
    registers: [this.registry],
  });
  readonly requestsInFlight = new Gauge({
    name: "sygnal_requests_in_flight",
    help: "Number of HTTP requests in flight",
    labelNames: ["resource"],
    registers: [this.registry],
  });
  readonly inflightLimitDrop = new Counter({
    name: "sygnal_inflight_request_limit_drop_total",
    help: "Number of notifications dropped because the number of inflight requests exceeded the configured inflight_request_limit.",
    labelNames: ["pushkin"],
    registers: [this.registry],
  });
  readonly deadTokenHits = new Counter({
    name: "herald_dead_token_cache_hits_total",
    help: "Devices answered 'rejected' from the dead-token cache, without asking the provider",
    labelNames: ["pushkin"],
    registers: [this.registry],
  });
  readonly duplicatesSuppressed = new Counter({
    name: "herald_duplicates_suppressed_total",
    help: "Devices not pushed because they already got this event_id",
    labelNames: ["pushkin"],
    registers: [this.registry],
  });
  readonly shortCircuited = new Counter({
    name: "herald_circuit_breaker_short_circuits_total",
    help: "Devices answered 502 at once because their pushkin's circuit breaker was open",
    labelNames: ["pushkin"],
    registers: [this.registry],
  });
  readonly circuitState = new Gauge({
    name: "herald_circuit_breaker_state",
    help: "Each pushkin's circuit breaker: 0 closed, 1 open (failing fast), 2 half-open (probing)",
    labelNames: ["pushkin"],
    // With http.workers, each worker has its own breaker: the worst of them is shown.
    aggregator: "max",
    registers: [this.registry],
  });
  readonly originShortCircuited = new Counter({
    name: "herald_origin_circuit_breaker_short_circuits_total",
    help: "Devices answered 502 at once because the circuit of the push service they chose (a WebPush subscription's origin) was open",
    labelNames: ["pushkin"],
    registers: [this.registry],
  });
  readonly originFailures = new Counter({
    name: "herald_origin_failures_total",
    help: "Pushes that failed at a push service the device chose (a WebPush subscription's origin), counted against that origin and not the app: transient, credentials (the service refused the app's signature), permanent",
    labelNames: ["pushkin", "kind"],
    registers: [this.registry],
  });
  /** Each app's count of origins whose circuit is open, asked for at every scrape. */
  private readonly openOrigins = new Map<string, () => number>();
  readonly originCircuitsOpen = new Gauge({
    name: "herald_origin_circuit_breakers_open",
    help: "Push services devices chose (WebPush subscriptions' origins) whose circuit is open now: their pushes fail at once",
    labelNames: ["pushkin"],
    registers: [this.registry],
    collect: () => {
      for (const [pushkin, count] of this.openOrigins) this.originCircuitsOpen.labels(pushkin).set(count());
    },
  });
  readonly credentialsOk = new Gauge({
    name: "herald_credentials_ok",
    help: "1 while an app's credentials work as far as Herald can tell; 0 once the provider refused them, or they could not be loaded or have expired",
    labelNames: ["pushkin"],
    // With http.workers: 0 as soon as one worker saw the credentials fail.
    aggregator: "min",
    registers: [this.registry],
  });
  readonly credentialFailures = new Counter({
    name: "herald_credential_failures_total",
    help: "Pushes that failed because the app's credentials were refused, unreadable or expired",
    labelNames: ["pushkin"],
    registers: [this.registry],
  });
  readonly loadShed = new Counter({
    name: "herald_load_shed_total",
    help: "Requests answered 503 because the process was overloaded, by reason and surface (notify, public)",
    labelNames: ["reason", "surface"],
    registers: [this.registry],
  });
  readonly connections = new Gauge({
    name: "herald_http_connections",
    help: "Client connections open on the API listeners",
    registers: [this.registry],
  });
  readonly connectionsRefused = new Counter({
    name: "herald_http_connections_refused_total",
    help: "Client connections answered 503 and closed at once: http.max_connections (total) or http.max_connections_per_address (per_address) reached",
    labelNames: ["limit"],
    registers: [this.registry],
  });
  readonly slowBodies = new Counter({
    name: "herald_http_slow_bodies_total",
    help: "Requests answered 408 because their body did not arrive within http.body_timeout (timeout) or at http.body_min_rate (min_rate)",
    labelNames: ["limit"],
    registers: [this.registry],
  });
  readonly deviceOutcomes = new Counter({
    name: "herald_device_outcomes_total",
    help: "What became of each device handed to a pushkin: delivered, skipped, rejected, failed",
    labelNames: ["pushkin", "outcome"],
    registers: [this.registry],
  });

  constructor(options: { processMetrics: boolean }) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  private readonly pushkinCounters = new Map<string, PushkinCounters>();

  /** Sygnal creates the drop counter of every pushkin at 0, so that rate() works from the first drop (#172). */
  registerPushkin(name: string): void {
    this.inflightLimitDrop.labels(name).inc(0);
    this.perPushkinType.labels(name).inc(0);
  }

  /** Shows an app's origins with an open circuit in `herald_origin_circuit_breakers_open`, counted at each scrape. */
  watchOriginCircuits(pushkin: string, countOpen: () => number): void {
    this.openOrigins.set(pushkin, countOpen);
  }

  /** The counters of one pushkin, labelled once: looking labels up on every push shows in profiles. */
  forPushkin(name: string): PushkinCounters {
    let counters = this.pushkinCounters.get(name);
    if (!counters) {
      const outcome = (kind: string) => this.deviceOutcomes.labels(name, kind);
      counters = {
        handedOver: this.perPushkinType.labels(name),
        deadTokenHits: this.deadTokenHits.labels(name),
        duplicatesSuppressed: this.duplicatesSuppressed.labels(name),
        inflightLimitDrop: this.inflightLimitDrop.labels(name),
        shortCircuited: this.shortCircuited.labels(name),
        originShortCircuited: this.originShortCircuited.labels(name),
        outcomes: {
          delivered: outcome("delivered"),
          skipped: outcome("skipped"),
          rejected: outcome("rejected"),
          failed: outcome("failed"),
        },
      };
      this.pushkinCounters.set(name, counters);
    }
    return counters;
  }
}

/*
 * Pushkin metrics are shared by every pushkin of a type (Sygnal's are module-level), so the first pushkin of a type
 * creates them in the registry and the others reuse them.
 */
export function sharedCounter<T extends string>(
  registry: Registry,
  config: { name: string; help: string; labelNames?: readonly T[] },
): Counter<T> {
  return (
    (registry.getSingleMetric(config.name) as Counter<T> | undefined) ??
    new Counter({ ...config, registers: [registry] })
  );
}

export function sharedGauge<T extends string>(
  registry: Registry,
  config: {
    name: string;
    help: string;
    labelNames?: readonly T[];
    /** How `http.workers`' values are combined; default their sum. */
    aggregator?: "sum" | "min" | "max" | "first";
  },
): Gauge<T> {
  return (
    (registry.getSingleMetric(config.name) as Gauge<T> | undefined) ?? new Gauge({ ...config, registers: [registry] })
  );
}

export function sharedHistogram<T extends string>(
  registry: Registry,
  config: { name: string; help: string; labelNames?: readonly T[]; buckets?: number[] },
): Histogram<T> {
  return (
    (registry.getSingleMetric(config.name) as Histogram<T> | undefined) ??
    new Histogram({ buckets: PYTHON_DEFAULT_BUCKETS, ...config, registers: [registry] })
  );
}
