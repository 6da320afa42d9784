/** A Huawei Push Kit app's configuration (`type: hms`), checked at start-up. */
import { resolve } from "node:path";
import { isJsonObject, type JsonObject } from "../../core/notification.js";
import { PushkinSetupError } from "../../core/pushkin.js";
import { readCredentialFile } from "../credentialFile.js";

export const HMS_ENDPOINT = "https://push-api.cloud.huawei.com";
export const HMS_TOKEN_ENDPOINT = "https://oauth-login.cloud.huawei.com/oauth2/v3/token";

export interface HmsSettings {
  appId: string;
  clientId: string;
  clientSecret: string;
  endpoint: string;
  tokenEndpoint: string;
  hmsOptions: JsonObject;
  /** seconds: how long Huawei keeps a message for an offline device */
  ttl: number;
  sendBadgeCounts: boolean;
  maxConnections: number;
  ca: Buffer | undefined;
}

export function readHmsSettings(config: JsonObject, configDir: string): HmsSettings {
  const text = (key: string) => (typeof config[key] === "string" ? (config[key] as string) : undefined);
  const required = (key: string) => {
    const value = text(key);
    if (!value) throw new PushkinSetupError(`You must supply ${key} (from the app's page in AppGallery Connect).`);
    return value;
  };
  const caPath = text("ca");
  return {
    appId: required("app_id"),
    clientId: required("client_id"),
    clientSecret: required("client_secret"),
    endpoint: (text("endpoint") ?? HMS_ENDPOINT).replace(/\/+$/, ""),
    tokenEndpoint: text("token_endpoint") ?? HMS_TOKEN_ENDPOINT,
    hmsOptions: isJsonObject(config.hms_options) ? config.hms_options : {},
    ttl: typeof config.ttl === "number" ? config.ttl : 86400,
    sendBadgeCounts: config.send_badge_counts !== false,
    maxConnections: typeof config.max_connections === "number" ? config.max_connections : 20,
    ca: caPath ? readCredentialFile(resolve(configDir, caPath), "HMS CA certificate file") : undefined,
  };
}
