/** Herald's HMS metrics, named and labelled like Sygnal's FCM ones, shared by every HMS pushkin. */
import type { Registry } from "prom-client";
import { sharedCounter, sharedGauge, sharedHistogram } from "../../observability/metrics.js";

export function hmsMetrics(registry: Registry) {
  return {
    statusCodes: sharedCounter(registry, {
      name: "herald_hms_status_codes_total",
      help: "HTTP status codes received from Huawei Push Kit",
      labelNames: ["pushkin", "code"] as const,
    }),
    requestTime: sharedHistogram(registry, {
      name: "herald_hms_request_time",
      help: "Time taken by Push Kit requests",
    }),
    queueTime: sharedHistogram(registry, {
      name: "herald_hms_queue_time",
      help: "Time waiting for a Push Kit connection",
    }),
    pendingRequests: sharedGauge(registry, {
      name: "herald_pending_hms_requests",
      help: "Push Kit requests waiting for a connection",
    }),
    activeRequests: sharedGauge(registry, { name: "herald_active_hms_requests", help: "Push Kit requests in flight" }),
  };
}
