/** Sygnal's WebPush metrics, plus Herald's status codes and refused endpoints, shared by every WebPush pushkin. */
import type { Registry } from "prom-client";
import { sharedCounter, sharedGauge, sharedHistogram } from "../../observability/metrics.js";

export function webPushMetrics(registry: Registry) {
  return {
    queueTime: sharedHistogram(registry, {
      name: "sygnal_webpush_queue_time",
      help: "Time taken waiting for a connection to WebPush endpoint",
    }),
    requestTime: sharedHistogram(registry, {
      name: "sygnal_webpush_request_time",
      help: "Time taken to send HTTP request to WebPush endpoint",
    }),
    pendingRequests: sharedGauge(registry, {
      name: "sygnal_pending_webpush_requests",
      help: "Number of WebPush requests waiting for a connection",
    }),
    activeRequests: sharedGauge(registry, {
      name: "sygnal_active_webpush_requests",
      help: "Number of WebPush requests in flight",
    }),
    statusCodes: sharedCounter(registry, {
      name: "herald_webpush_status_codes_total",
      help: "HTTP status codes received from WebPush push services",
      labelNames: ["pushkin", "code"] as const,
    }),
    refusedEndpoints: sharedCounter(registry, {
      name: "herald_webpush_refused_endpoints_total",
      help: "Pushes not sent because the subscription's endpoint is not allowed (allowed_endpoints, private addresses)",
      labelNames: ["pushkin"] as const,
    }),
  };
}
