/** Herald's Threema Gateway metrics, named and labelled like the FCM and HMS ones, shared by every Threema client. */
import type { Registry } from "prom-client";
import { sharedCounter, sharedGauge, sharedHistogram } from "../../observability/metrics.js";
import type { RequestMetrics } from "../../core/requestLimiter.js";

export function threemaMetrics(registry: Registry): RequestMetrics {
  return {
    statusCodes: sharedCounter(registry, {
      name: "herald_threema_status_codes_total",
      help: "HTTP status codes received from Threema Gateway",
      labelNames: ["pushkin", "code"] as const,
    }),
    requestTime: sharedHistogram(registry, {
      name: "herald_threema_request_time",
      help: "Time taken by Threema Gateway requests",
    }),
    queueTime: sharedHistogram(registry, {
      name: "herald_threema_queue_time",
      help: "Time waiting for a Threema Gateway connection",
    }),
    pendingRequests: sharedGauge(registry, {
      name: "herald_pending_threema_requests",
      help: "Threema Gateway requests waiting for a connection",
    }),
    activeRequests: sharedGauge(registry, {
      name: "herald_active_threema_requests",
      help: "Threema Gateway requests in flight",
    }),
  };
}
