/**
 * A WebPush app's configuration, checked at start-up with Sygnal's keys and messages. The VAPID key is a PEM EC P-256
 * private key, as `herald vapid-keys` (or py_vapid's `vapid --gen`) writes it.
 */
import { createPrivateKey } from "node:crypto";
import { resolve } from "node:path";
import ipaddr from "ipaddr.js";
import { parseAddressRange } from "../../config/addresses.js";
import { globToRegExp } from "../../core/glob.js";
import type { JsonObject } from "../../core/notification.js";
import { CredentialFileError, PushkinSetupError } from "../../core/pushkin.js";
import { readCredentialFile } from "../credentialFile.js";
import type { EndpointPolicy } from "./endpointGuard.js";
import type { AddressNetwork } from "./specialAddresses.js";

export interface VapidKeys {
  /** base64url of the 65-byte uncompressed public key: the browser's applicationServerKey. */
  publicKey: string;
  /** base64url of the 32-byte private scalar. */
  privateKey: string;
}

export interface WebPushSettings {
  vapid: VapidKeys;
  /** `mailto:` + vapid_contact_email: the VAPID `sub` claim, so that push services can reach the operator. */
  subject: string;
  /** Where its endpoints may lead: `allowed_endpoints`, `allow_private_addresses`, `allow_http`. */
  endpoints: EndpointPolicy;
  ttl: number;
  maxConnections: number;
  ca: Buffer | undefined;
}

export function readWebPushSettings(config: JsonObject, configDir: string): WebPushSettings {
  const keyPath = typeof config.vapid_private_key === "string" ? config.vapid_private_key : undefined;
  if (!keyPath) throw new PushkinSetupError("'vapid_private_key' not set in config");
  const email = typeof config.vapid_contact_email === "string" ? config.vapid_contact_email : undefined;
  if (!email) throw new PushkinSetupError("'vapid_contact_email' not set in config");
  const allowed = Array.isArray(config.allowed_endpoints) ? (config.allowed_endpoints as string[]) : undefined;
  const caPath = typeof config.ca === "string" ? config.ca : undefined;
  return {
    vapid: readVapidKeys(resolve(configDir, keyPath)),
    subject: email.startsWith("mailto:") ? email : `mailto:${email}`,
    endpoints: {
      allowedEndpoints: allowed?.map((glob) => globToRegExp(glob, { ignoreCase: true })),
      privateAddresses: readPrivateAddresses(config.allow_private_addresses),
      allowHttp: config.allow_http === true,
    },
    ttl: typeof config.ttl === "number" ? config.ttl : 900,
    maxConnections: typeof config.max_connections === "number" ? config.max_connections : 20,
    ca: caPath ? readCredentialFile(resolve(configDir, caPath), "WebPush CA certificate file") : undefined,
  };
}

/** `allow_private_addresses`: addresses or CIDR networks, as `http.trusted_proxies` takes them. */
function readPrivateAddresses(value: unknown): AddressNetwork[] {
  if (!Array.isArray(value)) return [];
  return value.map((entry: unknown, index) => {
    const range = parseAddressRange(String(entry));
    if (typeof range === "string") throw new PushkinSetupError(`allow_private_addresses[${index}]: ${range}`);
    return [ipaddr.parse(range.address), range.prefix];
  });
}

export function readVapidKeys(path: string): VapidKeys {
  const pem = readCredentialFile(path, "VAPID private key file ('vapid_private_key')");
  let jwk;
  try {
    jwk = createPrivateKey(pem).export({ format: "jwk" });
  } catch (error) {
    throw new CredentialFileError(`invalid 'vapid_private_key' file ${path}: ${(error as Error).message}`);
  }
  if (jwk.kty !== "EC" || jwk.crv !== "P-256" || !jwk.d || !jwk.x || !jwk.y) {
    throw new CredentialFileError(`invalid 'vapid_private_key' file ${path}: VAPID needs an EC P-256 key`);
  }
  const publicKey = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, "base64url"), Buffer.from(jwk.y, "base64url")]);
  return { publicKey: publicKey.toString("base64url"), privateKey: jwk.d };
}
