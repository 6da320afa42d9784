/** A `walletconnect` app's configuration, checked at start-up: the push server, and the key Herald signs with. */
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { resolve } from "node:path";
import type { JsonObject } from "../../core/notification.js";
import { CredentialFileError, PushkinSetupError } from "../../core/pushkin.js";
import { readCredentialFile } from "../credentialFile.js";

export interface WalletConnectPushkinSettings {
  /** Without a trailing slash. */
  endpoint: string;
  signingKey: KeyObject;
  /** The signing key's public half in hex: what the push server must have as its relay public key. */
  publicKeyHex: string;
  tag: number;
  sendBadgeCounts: boolean;
  maxConnections: number;
  ca: Buffer | undefined;
}

export function readWalletConnectPushkinSettings(config: JsonObject, configDir: string): WalletConnectPushkinSettings {
  const text = (key: string) => (typeof config[key] === "string" ? (config[key] as string) : undefined);
  const endpoint = text("endpoint");
  if (!endpoint) throw new PushkinSetupError("You must supply endpoint (the push server's base URL).");
  const keyFile = text("signing_key_file");
  if (!keyFile) throw new PushkinSetupError("You must supply signing_key_file (an ed25519 private key, PEM).");
  const signingKey = readSigningKey(resolve(configDir, keyFile));
  const caPath = text("ca");
  return {
    endpoint: endpoint.replace(/\/+$/, ""),
    signingKey,
    publicKeyHex: publicKeyHex(signingKey),
    tag: typeof config.tag === "number" ? config.tag : 0,
    sendBadgeCounts: config.send_badge_counts !== false,
    maxConnections: typeof config.max_connections === "number" ? config.max_connections : 20,
    ca: caPath ? readCredentialFile(resolve(configDir, caPath), "push server CA certificate file") : undefined,
  };
}

/** An ed25519 private key in PEM (`openssl genpkey -algorithm ed25519`). */
export function readSigningKey(path: string): KeyObject {
  const pem = readCredentialFile(path, "signing key file");
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new CredentialFileError(
      `The signing key file '${path}' is not a PEM private key: ${(error as Error).message}`,
    );
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new CredentialFileError(
      `The signing key file '${path}' holds a ${key.asymmetricKeyType ?? "unknown"} key; it must be ed25519 (openssl genpkey -algorithm ed25519)`,
    );
  }
  return key;
}

/** The 32 bytes of an ed25519 key's public half, in hex. */
export function publicKeyHex(key: KeyObject): string {
  return Buffer.from(createPublicKey(key).export({ format: "jwk" }).x!, "base64url").toString("hex");
}
