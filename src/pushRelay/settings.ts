/**
 * The `push_relay` section, read at start-up with its credentials: the APNs key, the FCM service account, the CA files,
 * the Threema Gateway key file. A credential that is missing or unusable stops start-up with a message that names
 * its key, as the apps' do.
 */
import type { KeyObject } from "node:crypto";
import { resolve } from "node:path";
import { dottedKey } from "../config/load.js";
import type { PushRelayConfig } from "../config/types.js";
import { PushkinSetupError } from "../core/pushkin.js";
import { APNS_ENDPOINTS, readSigningKey } from "../pushkins/apns/settings.js";
import { readCredentialFile } from "../pushkins/credentialFile.js";
import { FCM_ENDPOINT, parseServiceAccount, type ServiceAccount } from "../pushkins/fcm/settings.js";
import { HMS_ENDPOINT, HMS_TOKEN_ENDPOINT } from "../pushkins/hms/settings.js";
import { readGatewayPrivateKey } from "../pushkins/threema/privateKey.js";

/** A `push_relay` credential or setting that cannot be used; its message begins with the key. */
export class PushRelayConfigError extends Error {
  override readonly name = "PushRelayConfigError";
  constructor(key: string, message: string) {
    super(`push_relay.${key}: ${message}`);
  }
}

export interface FcmRelaySettings {
  endpoint: string;
  projectId: string;
  serviceAccount: ServiceAccount;
  ca: Buffer | undefined;
}

export interface ApnsRelaySettings {
  key: KeyObject;
  keyId: string;
  teamId: string;
  endpoints: { production: string; sandbox: string };
  ca: Buffer | undefined;
}

export interface HmsRelaySettings {
  clientId: string;
  clientSecret: string;
  highPriority: boolean;
  endpoint: string;
  tokenEndpoint: string;
  ca: Buffer | undefined;
}

export interface ThreemaGatewaySettings {
  baseUrl: string;
  /** The gateway identity pushes come from (`*3MAPUSH` for Threema's apps). */
  identity: string;
  secret: string;
  /** The identity's private key, from its file (`private:` and 64 hex digits). */
  privateKey: Buffer;
  ca: Buffer | undefined;
}

export interface PushRelaySettings {
  fcm: FcmRelaySettings | undefined;
  apns: ApnsRelaySettings | undefined;
  /** By appid. */
  hms: Map<string, HmsRelaySettings>;
  threemaGateway: ThreemaGatewaySettings | undefined;
}

export function readPushRelaySettings(config: PushRelayConfig, configDir: string): PushRelaySettings {
  const path = (value: string) => resolve(configDir, value);
  const ca = (key: string, value: string | undefined) =>
    value === undefined ? undefined : named(key, () => readCredentialFile(path(value), "CA certificate file"));

  const { fcm, apns, threema_gateway: gateway } = config;
  return {
    fcm: fcm && {
      endpoint: (fcm.endpoint ?? FCM_ENDPOINT).replace(/\/+$/, ""),
      projectId: String(fcm.project_id),
      serviceAccount: readServiceAccount(fcm, path),
      ca: ca("fcm.ca", fcm.ca),
    },
    apns: apns && {
      key: named("apns.keyfile", () => readSigningKey(path(apns.keyfile))),
      keyId: apns.key_id,
      teamId: apns.team_id,
      endpoints: {
        production: apns.production_endpoint ?? APNS_ENDPOINTS.production,
        sandbox: apns.sandbox_endpoint ?? APNS_ENDPOINTS.sandbox,
      },
      ca: ca("apns.ca", apns.ca),
    },
    hms: new Map(
      Object.entries(config.hms ?? {}).map(([appId, app]) => [
        appId,
        {
          clientId: app.client_id,
          clientSecret: app.client_secret,
          highPriority: app.high_priority === true,
          endpoint: (app.endpoint ?? HMS_ENDPOINT).replace(/\/+$/, ""),
          tokenEndpoint: app.token_endpoint ?? HMS_TOKEN_ENDPOINT,
          ca: ca(dottedKey(["hms", appId, "ca"]), app.ca),
        },
      ]),
    ),
    threemaGateway: gateway && {
      baseUrl: gateway.base_url.replace(/\/+$/, ""),
      identity: gateway.identity,
      secret: gateway.secret,
      privateKey: named("threema_gateway.private_key_file", () =>
        readGatewayPrivateKey(path(gateway.private_key_file)),
      ),
      ca: ca("threema_gateway.ca", gateway.ca),
    },
  };
}

/** push-relay's base64 key, or Herald's key file: exactly one of them. */
function readServiceAccount(fcm: NonNullable<PushRelayConfig["fcm"]>, path: (value: string) => string): ServiceAccount {
  const { service_account_key_base64: base64, service_account_file: file } = fcm;
  if ((base64 === undefined) === (file === undefined)) {
    throw new PushRelayConfigError(
      "fcm",
      "give the service account as service_account_key_base64 (as push-relay) or as service_account_file, one of them",
    );
  }
  if (file !== undefined) {
    return named("fcm.service_account_file", () => {
      const text = readCredentialFile(path(file), "FCM service account file").toString("utf8");
      return parseServiceAccount(text, `the file '${path(file)}' must be a service account key`);
    });
  }
  return named("fcm.service_account_key_base64", () => {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64!.replace(/\s+/g, ""))) {
      throw new PushkinSetupError("not base64");
    }
    const text = Buffer.from(base64!, "base64").toString("utf8");
    return parseServiceAccount(text, "must be a base64-encoded service account key");
  });
}

/** Runs a credential reader, naming the key in what it throws. */
function named<T>(key: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof PushkinSetupError) throw new PushRelayConfigError(key, error.message);
    throw error;
  }
}
