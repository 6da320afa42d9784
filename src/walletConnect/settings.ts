/**
 * The `walletconnect` section, checked at start-up: the relay's public key, the apps that serve each push type (each
 * must be configured, and of the right type), the tenants (WalletConnect projects) served, and where the registry
 * lives. A problem stops start-up with a message that begins with its key.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { resolve } from "node:path";
import type { AppConfig, WalletConnectConfig, WalletConnectProviders } from "../config/types.js";
import type { StoreOptions } from "../store/index.js";
import type { PushType } from "../store/registry.js";

/** A `walletconnect` setting that cannot be used; its message begins with the key. */
export class WalletConnectConfigError extends Error {
  override readonly name = "WalletConnectConfigError";
  constructor(key: string, message: string) {
    super(`walletconnect.${key}: ${message}`);
  }
}

/** The push types served through an app (noop is served by nobody). */
export type ProviderType = Exclude<PushType, "noop">;
export const PROVIDER_TYPES: readonly ProviderType[] = ["apns", "apns-sandbox", "fcm"];

/** A tenant as served: the registry's tenant of its clients, and the app serving each push type that has one. */
export interface Tenant {
  /** "" for `/clients`, and for every project when no `tenants` are configured: they share one set of clients. */
  registryTenant: string;
  providers: Map<ProviderType, string>;
}

export interface WalletConnectSettings {
  /** undefined: signatures are not checked (`validate_signatures: false`). */
  relayPublicKey: KeyObject | undefined;
  /** Seconds; 0: the timestamp is not checked. */
  timestampWindow: number;
  /** The audiences a wallet's Authorization JWT may name; undefined: not checked. */
  audiences: string[] | undefined;
  /** Every registration and deletion must carry a wallet's Authorization JWT. */
  requireClientAuth: boolean;
  /** `/clients`, and each project when no `tenants` are configured. */
  defaultTenant: Tenant;
  /** The configured tenants, by project id; undefined: none are configured. */
  tenants: Map<string, Tenant> | undefined;
  /** Without `tenants`: the project ids served; undefined: any. */
  allowedTenants: Set<string> | undefined;
  acceptNoop: boolean;
  store: StoreOptions;
  /** Seconds a relay message id is remembered. */
  messageTtl: number;
  /** A relay message that names no client is pushed to one client of a tenant at most. */
  oneClientPerMessage: boolean;
}

/** Where the SQLite registry lives when the config does not say: beside the config file. */
export const DEFAULT_SQLITE_PATH = "data/walletconnect.sqlite3";

/** The ed25519 SubjectPublicKeyInfo prefix, before the 32 key bytes. */
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

export function readWalletConnectSettings(
  config: WalletConnectConfig,
  apps: Record<string, AppConfig>,
  configDir: string,
): WalletConnectSettings {
  let relayPublicKey: KeyObject | undefined;
  if (config.validate_signatures) {
    if (config.relay_public_key === undefined) {
      throw new WalletConnectConfigError(
        "relay_public_key",
        "required while validate_signatures is true: the relay's ed25519 public key, 64 hex digits (WalletConnect publishes it at https://relay.walletconnect.com/public-key)",
      );
    }
    relayPublicKey = ed25519PublicKey(config.relay_public_key);
  }
  if (config.timestamp_window > 0 && config.message_ttl <= config.timestamp_window) {
    throw new WalletConnectConfigError(
      "message_ttl",
      `must exceed timestamp_window (${config.timestamp_window}s): a relay message replayed within the window must still be remembered`,
    );
  }
  if (config.tenants !== undefined && config.allowed_tenants !== undefined) {
    throw new WalletConnectConfigError(
      "allowed_tenants",
      "cannot be used with walletconnect.tenants, which names the projects served already: remove one of the two",
    );
  }
  const defaultTenant = { registryTenant: "", providers: readProviders("providers", config.providers, apps) };
  const tenants =
    config.tenants &&
    new Map(
      Object.entries(config.tenants).map(([id, tenant]): [string, Tenant] => [
        id,
        { registryTenant: id, providers: readProviders(`tenants.${id}.providers`, tenant?.providers, apps) },
      ]),
    );
  const audiences = config.public_url === undefined ? undefined : [config.public_url].flat();
  return {
    relayPublicKey,
    timestampWindow: config.timestamp_window,
    audiences,
    requireClientAuth: config.require_client_auth,
    defaultTenant,
    tenants,
    allowedTenants: config.allowed_tenants && new Set(config.allowed_tenants),
    acceptNoop: config.accept_noop,
    store:
      config.store.type === "postgres"
        ? { kind: "postgres", url: config.store.url, schema: config.store.schema, maxClients: config.max_clients }
        : {
            kind: "sqlite",
            path: resolve(configDir, config.store.path ?? DEFAULT_SQLITE_PATH),
            maxClients: config.max_clients,
          },
    messageTtl: config.message_ttl,
    oneClientPerMessage: config.one_client_per_message,
  };
}

/**
 * The tenant a request's path names, or undefined when this server does not serve it. `projectId` undefined: the
 * path has none (`/clients`).
 */
export function tenantOf(settings: WalletConnectSettings, projectId: string | undefined): Tenant | undefined {
  if (projectId === undefined) return settings.defaultTenant;
  if (settings.tenants) return settings.tenants.get(projectId);
  if (settings.allowedTenants && !settings.allowedTenants.has(projectId)) return undefined;
  return settings.defaultTenant;
}

function readProviders(
  key: string,
  providers: WalletConnectProviders | undefined,
  apps: Record<string, AppConfig>,
): Map<ProviderType, string> {
  const served = new Map<ProviderType, string>();
  for (const type of PROVIDER_TYPES) {
    const app = providers?.[type];
    if (app === undefined) continue;
    checkProviderApp(`${key}.${type}`, type, app, apps);
    served.set(type, app);
  }
  return served;
}

/** An ed25519 public key from its 32 bytes in hex. */
export function ed25519PublicKey(hex: string): KeyObject {
  return createPublicKey({
    key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(hex, "hex")]),
    format: "der",
    type: "spki",
  });
}

function checkProviderApp(key: string, type: ProviderType, name: string, apps: Record<string, AppConfig>): void {
  const app = apps[name];
  if (app === undefined) {
    throw new WalletConnectConfigError(key, `names the app '${name}', which is not configured under apps`);
  }
  if (type === "fcm") {
    if (app.type !== "gcm" || app.api_version !== "v1") {
      throw new WalletConnectConfigError(
        key,
        `the app '${name}' is of type ${describeType(app)}; fcm needs an app of type gcm with api_version: v1`,
      );
    }
  } else if (app.type !== "apns") {
    throw new WalletConnectConfigError(
      key,
      `the app '${name}' is of type ${describeType(app)}; ${type} needs an app of type apns`,
    );
  }
}

function describeType(app: AppConfig): string {
  return app.type === "gcm" ? `gcm (api_version ${String(app.api_version ?? "legacy")})` : app.type;
}
