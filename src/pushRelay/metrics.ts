/**
 * The push-relay API's metrics, where push-relay wrote `push` points (type, version, success) to InfluxDB. The
 * providers' own metrics come from their clients, labelled `push_relay:<provider>`.
 */
import type { Registry } from "prom-client";
import { sharedCounter, sharedHistogram } from "../observability/metrics.js";

export function pushRelayMetrics(registry: Registry) {
  return {
    pushes: sharedCounter(registry, {
      name: "herald_push_relay_pushes_total",
      help: "Pushes of the push-relay API by type (fcm, apns, hms, threema-gateway) and outcome (delivered, refused, failed, error)",
      labelNames: ["type", "outcome"] as const,
    }),
    badRequests: sharedCounter(registry, {
      name: "herald_push_relay_bad_requests_total",
      help: "Requests to the push-relay API refused before sending: bad content type or parameters (400), too large (413)",
    }),
    requestTime: sharedHistogram(registry, {
      name: "herald_push_relay_request_time",
      help: "Time taken to answer a push of the push-relay API, by type and HTTP status",
      labelNames: ["type", "code"] as const,
    }),
  };
}

export type PushRelayMetrics = ReturnType<typeof pushRelayMetrics>;
