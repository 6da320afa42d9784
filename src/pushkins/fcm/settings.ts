/**
 * An FCM app's configuration (`type: gcm`), checked at start-up with Sygnal's keys and messages, plus `endpoint` and
 * `ca`. The service account file is read and parsed here, so that a broken credential stops start-up.
 */
import { createPrivateKey, type KeyObject } from "node:crypto";
import { resolve } from "node:path";
import { isJsonObject, type JsonObject } from "../../core/notification.js";
import { CredentialFileError, PushkinSetupError } from "../../core/pushkin.js";
import { readCredentialFile } from "../credentialFile.js";

export const FCM_ENDPOINT = "https://fcm.googleapis.com";

export interface ServiceAccount {
  clientEmail: string;
  privateKeyId: string | undefined;
  key: KeyObject;
  tokenUri: string;
  projectId: string | undefined;
}

export type FcmSettings = {
  endpoint: string;
  fcmOptions: JsonObject;
  maxConnections: number;
  sendBadgeCounts: boolean;
  ca: Buffer | undefined;
  /** Said at start-up, when the config leaves something to a default worth knowing. */
  warnings: string[];
} & ({ api: "legacy"; apiKey: string } | { api: "v1"; projectId: string; serviceAccount: ServiceAccount });

export function readFcmSettings(config: JsonObject, configDir: string): FcmSettings {
  const text = (key: string) => (typeof config[key] === "string" ? (config[key] as string) : undefined);
  const warnings: string[] = [];
  const caPath = text("ca");
  const common = {
    endpoint: (text("endpoint") ?? FCM_ENDPOINT).replace(/\/+$/, ""),
    fcmOptions: isJsonObject(config.fcm_options) ? config.fcm_options : {},
    maxConnections: typeof config.max_connections === "number" ? config.max_connections : 20,
    sendBadgeCounts: config.send_badge_counts !== false,
    ca: caPath ? readCredentialFile(resolve(configDir, caPath), "FCM CA certificate file") : undefined,
    warnings,
  };

  const version = text("api_version");
  if (version === "v1") {
    // Sygnal reads no api_key with v1, whatever it holds: an empty one is what its sample leaves when uncommented.
    if ("api_key" in config) warnings.push("api_key is not used with api_version: v1; ignored");
    const projectId = text("project_id");
    if (!projectId) throw new PushkinSetupError("Must configure `project_id` when using FCM api v1");
    const file = text("service_account_file");
    if (!file) throw new PushkinSetupError("Must configure `service_account_file` when using FCM api v1");
    return { ...common, api: "v1", projectId, serviceAccount: readServiceAccount(resolve(configDir, file)) };
  }
  // Keys of v1 on an app read as legacy: most likely `api_version: v1` was forgotten.
  const v1Keys = ["project_id", "service_account_file"].filter((key) => key in config);
  const v1Hint =
    version === undefined && v1Keys.length > 0
      ? `api_version is not set, so the legacy API is used, but ${v1Keys.join(" and ")} ${v1Keys.length > 1 ? "are" : "is"} for FCM v1: add api_version: v1`
      : undefined;
  if (version === undefined) warnings.push(v1Hint ?? "API version not set in config, defaulting to legacy");
  else if (config.service_account_file !== undefined)
    warnings.push("service_account_file is used only with api_version: v1; ignored");
  const apiKey = text("api_key");
  if (!apiKey)
    throw new PushkinSetupError(v1Hint ? `No API key set in config (${v1Hint})` : "No API key set in config");
  warnings.push(
    "the FCM legacy API was shut down by Google in 2024; use api_version: v1 (legacy stays for FCM-compatible servers)",
  );
  return { ...common, api: "legacy", apiKey };
}

function readServiceAccount(path: string): ServiceAccount {
  const text = readCredentialFile(path, "FCM service account file").toString("utf8");
  return parseServiceAccount(text, `\`service_account_file\` must be valid: ${path}`);
}

/** A Google service account's JSON key; `what` begins the message of a CredentialFileError when it is unusable. */
export function parseServiceAccount(text: string, what: string): ServiceAccount {
  const invalid = (why: string) => new CredentialFileError(`${what}: ${why}`);
  let account: unknown;
  try {
    account = JSON.parse(text);
  } catch {
    throw invalid("not JSON");
  }
  if (!isJsonObject(account)) throw invalid("not a JSON object");
  const field = (name: string) => (typeof account[name] === "string" ? (account[name] as string) : undefined);
  const clientEmail = field("client_email");
  const privateKey = field("private_key");
  const tokenUri = field("token_uri");
  if (!clientEmail || !privateKey || !tokenUri) {
    throw invalid("a service account key file has client_email, private_key and token_uri");
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKey);
  } catch (error) {
    throw invalid(`private_key is not a PEM private key (${(error as Error).message})`);
  }
  return { clientEmail, privateKeyId: field("private_key_id"), key, tokenUri, projectId: field("project_id") };
}
