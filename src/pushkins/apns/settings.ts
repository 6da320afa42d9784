/**
 * An APNs app's configuration, checked at start-up (Sygnal's keys and messages, plus `endpoint` and `ca`).
 * Key files are read and parsed here, so that a missing or unreadable credential stops start-up instead of failing
 * the first push.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { resolve } from "node:path";
import type { JsonObject } from "../../core/notification.js";
import { CredentialFileError, PushkinSetupError } from "../../core/pushkin.js";
import { readCredentialFile } from "../credentialFile.js";

export const APNS_ENDPOINTS = {
  production: "https://api.push.apple.com",
  sandbox: "https://api.sandbox.push.apple.com",
} as const;

export type ApnsAuth =
  | { kind: "token"; key: KeyObject; keyId: string; teamId: string }
  | { kind: "certificate"; certPem: string; keyPem: string; notAfter: Date };

export interface ApnsSettings {
  endpoint: string;
  auth: ApnsAuth;
  /** `apns-topic`: the app's bundle id (token auth: `topic`; certificate auth: the certificate's UID). */
  topic: string;
  pushType: string | undefined;
  convertDeviceTokenToHex: boolean;
  sendBadgeCounts: boolean;
  ca: Buffer | undefined;
}

export function readApnsSettings(config: JsonObject, configDir: string): ApnsSettings {
  const text = (key: string) => (typeof config[key] === "string" ? (config[key] as string) : undefined);
  const platform = text("platform") ?? "production";
  const endpoint = text("endpoint") ?? (platform === "sandbox" ? APNS_ENDPOINTS.sandbox : APNS_ENDPOINTS.production);
  const path = (key: string) => {
    const value = text(key);
    return value === undefined ? undefined : resolve(configDir, value);
  };
  const caPath = path("ca");

  let auth: ApnsAuth;
  let topic: string | undefined;
  const certfile = path("certfile");
  const keyfile = path("keyfile");
  if (certfile) {
    const certificate = readCertificate(certfile);
    auth = certificate.auth;
    topic = certificate.uid ?? text("topic");
    if (!topic) throw new PushkinSetupError(`the APNs certificate '${certfile}' has no UID (the app's bundle id)`);
  } else if (keyfile) {
    const keyId = text("key_id");
    const teamId = text("team_id");
    topic = text("topic");
    if (!keyId) throw new PushkinSetupError("You must supply key_id.");
    if (!teamId) throw new PushkinSetupError("You must supply team_id.");
    if (!topic) throw new PushkinSetupError("You must supply topic.");
    auth = { kind: "token", key: readSigningKey(keyfile), keyId, teamId };
  } else {
    throw new PushkinSetupError("You must provide a path to an APNs certificate, or an APNs token.");
  }

  return {
    endpoint,
    auth,
    topic,
    pushType: text("push_type"),
    convertDeviceTokenToHex: config.convert_device_token_to_hex !== false,
    sendBadgeCounts: config.send_badge_counts !== false,
    ca: caPath ? readCredentialFile(caPath, "APNs CA certificate") : undefined,
  };
}

/** An Apple .p8 key file: a PEM ES256 (P-256) private key. */
export function readSigningKey(path: string): KeyObject {
  const pem = readCredentialFile(path, "APNs key file");
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new CredentialFileError(`The APNs key file '${path}' is not a PEM private key: ${(error as Error).message}`);
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new CredentialFileError(`The APNs key file '${path}' is not an ES256 (P-256) key, as Apple's .p8 keys are.`);
  }
  return key;
}

function readCertificate(path: string): { auth: ApnsAuth; uid: string | undefined } {
  const pem = readCredentialFile(path, "APNs certificate").toString("utf8");
  const certMatch = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/);
  const keyMatch = pem.match(/-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----[\s\S]+?-----END (?:[A-Z]+ )?PRIVATE KEY-----/);
  if (!certMatch || !keyMatch) {
    throw new CredentialFileError(
      `The APNs certificate '${path}' must hold a PEM certificate and its unencrypted private key.`,
    );
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certMatch[0]);
    createPrivateKey(keyMatch[0]);
  } catch (error) {
    throw new CredentialFileError(`The APNs certificate '${path}' cannot be read: ${(error as Error).message}`);
  }
  const uid = certificate.subject.match(/^UID=(.+)$/m)?.[1];
  return {
    uid,
    auth: { kind: "certificate", certPem: certMatch[0], keyPem: keyMatch[0], notAfter: new Date(certificate.validTo) },
  };
}
