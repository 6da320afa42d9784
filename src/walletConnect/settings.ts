/**
 * The `walletconnect` section, checked at start-up: the relay's public key, the apps that serve each push type (each
 * must be configured, and of the right type), and where the registry lives. A problem stops start-up with a message
 * that begins with its key.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { resolve } from "node:path";
import type { AppConfig, WalletConnectConfig } from "../config/types.js";
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

export interface WalletConnectSettings {
  /** undefined: signatures are not checked (`validate_signatures: false`). */
  relayPublicKey: KeyObject | undefined;
  /** Seconds; 0: the timestamp is not checked. */
  timestampWindow: number;
  /** The audiences a wallet's Authorization JWT may name; undefined: not checked. */
  audiences: string[] | undefined;
  /** The app key serving each push type that has one. */
  providers: Map<ProviderType, string>;
  acceptNoop: boolean;
  store: StoreOptions;
  /** Seconds a relay message id is remembered. */
  messageTtl: number;
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
  const providers = new Map<ProviderType, string>();
  for (const type of PROVIDER_TYPES) {
    const app = config.providers?.[type];
    if (app === undefined) continue;
    checkProviderApp(type, app, apps);
    providers.set(type, app);
  }
  const audiences = config.public_url === undefined ? undefined : [config.public_url].flat();
  return {
    relayPublicKey,
    timestampWindow: config.timestamp_window,
    audiences,
    providers,
    acceptNoop: config.accept_noop,
    store:
      config.store.type === "postgres"
        ? { kind: "postgres", url: config.store.url, schema: config.store.schema }
        : { kind: "sqlite", path: resolve(configDir, config.store.path ?? DEFAULT_SQLITE_PATH) },
    messageTtl: config.message_ttl,
  };
}

/** An ed25519 public key from its 32 bytes in hex. */
export function ed25519PublicKey(hex: string): KeyObject {
  return createPublicKey({
    key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(hex, "hex")]),
    format: "der",
    type: "spki",
  });
}

function checkProviderApp(type: ProviderType, name: string, apps: Record<string, AppConfig>): void {
  const key = `providers.${type}`;
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
