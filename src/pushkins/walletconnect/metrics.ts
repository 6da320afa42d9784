/** The walletconnect pushkin's metrics, named and labelled like the other HTTP providers', shared by every such app. */
import type { Registry } from "prom-client";
import type { RequestMetrics } from "../../core/requestLimiter.js";
import { sharedCounter, sharedGauge, sharedHistogram } from "../../observability/metrics.js";

export function walletConnectPushkinMetrics(registry: Registry): RequestMetrics {
  return {
    statusCodes: sharedCounter(registry, {
      name: "herald_walletconnect_push_server_status_codes_total",
      help: "HTTP status codes received from WalletConnect push servers (type: walletconnect apps)",
      labelNames: ["pushkin", "code"] as const,
    }),
    requestTime: sharedHistogram(registry, {
      name: "herald_walletconnect_push_server_request_time",
      help: "Time taken by requests to WalletConnect push servers",
    }),
    queueTime: sharedHistogram(registry, {
      name: "herald_walletconnect_push_server_queue_time",
      help: "Time waiting for a connection to a WalletConnect push server",
    }),
    pendingRequests: sharedGauge(registry, {
      name: "herald_pending_walletconnect_push_server_requests",
      help: "Requests to WalletConnect push servers waiting for a connection",
    }),
    activeRequests: sharedGauge(registry, {
      name: "herald_active_walletconnect_push_server_requests",
      help: "Requests to WalletConnect push servers in flight",
    }),
  };
}
