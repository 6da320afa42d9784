/** Sygnal's APNs metrics, shared by every APNs pushkin of a Herald. */
import type { Registry } from "prom-client";
import { sharedCounter, sharedGauge, sharedHistogram } from "../../observability/metrics.js";

export function apnsMetrics(registry: Registry) {
  return {
    statusCodes: sharedCounter(registry, {
      name: "sygnal_apns_status_codes_total",
      help: "Number of HTTP response status codes received from APNs",
      labelNames: ["pushkin", "code"] as const,
    }),
    requestTime: sharedHistogram(registry, {
      name: "sygnal_apns_request_time",
      help: "Time taken to send HTTP request to APNS",
    }),
    activeRequests: sharedGauge(registry, {
      name: "sygnal_active_apns_requests",
      help: "Number of APNs requests in flight",
    }),
    certificateExpiry: sharedGauge(registry, {
      name: "sygnal_client_cert_expiry",
      help: "The expiry time of the client certificate, in seconds since the epoch",
      labelNames: ["pushkin"] as const,
      // Every worker of http.workers reads the same certificate: a sum would be no time at all.
      aggregator: "min",
    }),
  };
}

export type ApnsMetrics = ReturnType<typeof apnsMetrics>;
