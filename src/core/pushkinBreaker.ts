/** A pushkin's circuit breaker as configured, with its state in a gauge and its changes in the log. */
import type { Logger } from "pino";
import type { CircuitBreakerConfig } from "../config/types.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import { CircuitBreaker, type CircuitState } from "./circuitBreaker.js";

const GAUGE_VALUE: Record<CircuitState, number> = { closed: 0, open: 1, "half-open": 2 };

export function circuitBreakerFor(
  pushkin: string,
  config: CircuitBreakerConfig,
  metrics: GatewayMetrics,
  log: Logger,
): CircuitBreaker | undefined {
  if (!config.enabled) return undefined;
  const gauge = metrics.circuitState.labels(pushkin);
  gauge.set(0);
  return new CircuitBreaker({
    failureThreshold: config.failure_threshold,
    coolDownMs: config.cool_down * 1000,
    onChange: (state, failures) => {
      gauge.set(GAUGE_VALUE[state]);
      if (state === "open")
        log.error(
          { pushkin, failures, cool_down_s: config.cool_down },
          "The provider keeps failing: circuit open, its pushes fail at once (502) until a probe succeeds",
        );
      else if (state === "closed") log.info({ pushkin }, "The provider answers again: circuit closed");
      else log.info({ pushkin }, "Circuit half-open: letting one probe push through");
    },
  });
}
