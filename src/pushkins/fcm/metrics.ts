/** Sygnal's FCM metrics, shared by every FCM pushkin of a Herald. */
import type { Registry } from "prom-client";
import { sharedCounter, sharedGauge, sharedHistogram } from "../../observability/metrics.js";

export function fcmMetrics(registry: Registry) {
  return {
    statusCodes: sharedCounter(registry, {
      name: "sygnal_gcm_status_codes_total",
      help: "Number of HTTP response status codes received from GCM",
      labelNames: ["pushkin", "code"] as const,
    }),
    requestTime: sharedHistogram(registry, {
      name: "sygnal_gcm_request_time",
      help: "Time taken to send HTTP request to GCM",
    }),
    queueTime: sharedHistogram(registry, {
      name: "sygnal_gcm_queue_time",
      help: "Time taken waiting for a connection to GCM",
    }),
    pendingRequests: sharedGauge(registry, {
      name: "sygnal_pending_gcm_requests",
      help: "Number of GCM requests waiting for a connection",
    }),
    activeRequests: sharedGauge(registry, {
      name: "sygnal_active_gcm_requests",
      help: "Number of GCM requests in flight",
    }),
  };
}

export type FcmMetrics = ReturnType<typeof fcmMetrics>;
