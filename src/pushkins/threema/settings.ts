/** A Threema Gateway app's configuration (`type: threema`), checked at start-up. */
import { resolve } from "node:path";
import type { JsonObject } from "../../core/notification.js";
import { PushkinSetupError } from "../../core/pushkin.js";
import { readCredentialFile } from "../credentialFile.js";
import { THREEMA_GATEWAY_ENDPOINT } from "./client.js";
import { readGatewayPrivateKey } from "./privateKey.js";

/** A gateway ID: `*` and seven digits or capitals. */
const GATEWAY_ID = /^\*[0-9A-Z]{7}$/;

export interface ThreemaSettings {
  identity: string;
  secret: string;
  privateKey: Buffer;
  endpoint: string;
  sendBadgeCounts: boolean;
  maxConnections: number;
  ca: Buffer | undefined;
}

export function readThreemaSettings(config: JsonObject, configDir: string): ThreemaSettings {
  const text = (key: string) => (typeof config[key] === "string" ? (config[key] as string) : undefined);
  const required = (key: string, what: string) => {
    const value = text(key);
    if (!value) throw new PushkinSetupError(`You must supply ${key} (${what}).`);
    return value;
  };
  const identity = required("identity", "the gateway ID, e.g. *3MAPUSH, from gateway.threema.ch");
  if (!GATEWAY_ID.test(identity)) {
    throw new PushkinSetupError(`identity must be a gateway ID: '*' and seven digits or capitals, e.g. *3MAPUSH.`);
  }
  const caPath = text("ca");
  return {
    identity,
    secret: required("secret", "the gateway ID's API secret, from gateway.threema.ch"),
    privateKey: readGatewayPrivateKey(
      resolve(configDir, required("private_key_file", "the file with the private key of the gateway ID")),
    ),
    endpoint: (text("endpoint") ?? THREEMA_GATEWAY_ENDPOINT).replace(/\/+$/, ""),
    sendBadgeCounts: config.send_badge_counts !== false,
    maxConnections: typeof config.max_connections === "number" ? config.max_connections : 20,
    ca: caPath ? readCredentialFile(resolve(configDir, caPath), "Threema Gateway CA certificate file") : undefined,
  };
}
