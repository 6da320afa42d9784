/**
 * The WalletConnect API's metrics. The providers' own (APNs, FCM) come from the clients of the apps it sends through,
 * labelled with those apps' names.
 */
import { Gauge, type Registry } from "prom-client";
import { sharedCounter } from "../observability/metrics.js";

/** Why a registration or deletion was refused for its authentication or for the client's owner. */
export type ClientAuthRefusal = "invalid_jwt" | "jwt_required" | "client_owned" | "token_owned";

/** What became of a relay message (`POST /clients/:id`) that passed the signature check. */
export type RelayOutcome =
  | "delivered"
  | "duplicate"
  | "other_client"
  | "unknown_client"
  | "client_deleted"
  | "bad_request"
  | "undeliverable"
  | "failed";

export function walletConnectMetrics(registry: Registry, countClients: () => Promise<number>) {
  return {
    registrations: sharedCounter(registry, {
      name: "herald_walletconnect_registrations_total",
      help: "Wallets registered (POST /clients answered 200), by push type",
      labelNames: ["type"] as const,
    }),
    deletions: sharedCounter(registry, {
      name: "herald_walletconnect_deletions_total",
      help: "Clients deleted: unregistered by the wallet (DELETE /clients/:id), or whose token the provider declared dead",
      labelNames: ["reason"] as const,
    }),
    relayMessages: sharedCounter(registry, {
      name: "herald_walletconnect_relay_messages_total",
      help: "Relay messages (POST /clients/:id with a valid signature) by outcome: delivered, duplicate, other_client, unknown_client, client_deleted, bad_request, undeliverable, failed",
      labelNames: ["outcome"] as const,
    }),
    clientAuthRefusals: sharedCounter(registry, {
      name: "herald_walletconnect_client_auth_refusals_total",
      help: "Registrations and deletions refused for their Authorization, by reason: invalid_jwt (401), jwt_required (401, require_client_auth), client_owned (401, the client is owned by another key), token_owned (409, the token belongs to another key's client)",
      labelNames: ["reason"] as const,
    }),
    registryFull: sharedCounter(registry, {
      name: "herald_walletconnect_registry_full_total",
      help: "Registrations refused 507 because the registry holds walletconnect.max_clients clients",
    }),
    signatureFailures: sharedCounter(registry, {
      name: "herald_walletconnect_signature_failures_total",
      help: "Relay messages refused 401 by reason: missing (a header), malformed (not hex, not 64 bytes, no Unix time), invalid (does not verify), stale (timestamp outside the window)",
      labelNames: ["reason"] as const,
    }),
    registeredClients:
      (registry.getSingleMetric("herald_walletconnect_registered_clients") as Gauge | undefined) ??
      new Gauge({
        name: "herald_walletconnect_registered_clients",
        help: "Clients in the WalletConnect registry, counted when scraped",
        registers: [registry],
        // Every worker of a cluster counts the same registry.
        aggregator: "max",
        async collect() {
          try {
            this.set(await countClients());
          } catch {
            // The registry is unreachable: the last count stands, and the pushes that need it say why.
          }
        },
      }),
  };
}

export type WalletConnectMetrics = ReturnType<typeof walletConnectMetrics>;
