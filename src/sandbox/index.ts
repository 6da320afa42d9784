/**
 * The sandbox providers, started together with throwaway credentials, for `herald demo`, the tests and the
 * benchmark: a CA; a fake APNs that checks every JWT like Apple; a fake Google OAuth endpoint and a fake FCM that
 * checks the access tokens it issued; a fake WebPush service that checks VAPID and decrypts every message; a fake
 * Huawei Push Kit with its OAuth endpoint; a fake Threema Gateway that decrypts every message as the user's phone would.
 * Credential files (the CA certificate, an APNs .p8 key, a Google service account, a VAPID key, a Threema Gateway
 * private key) are written to a fresh
 * temporary directory, so that a Herald config points at them as at real ones.
 */
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JsonObject } from "../core/notification.js";
import { ApnsSandbox } from "./apns.js";
import { createSandboxCa, type SandboxCa } from "./ca.js";
import { FcmSandbox } from "./fcm.js";
import { GoogleOAuthSandbox } from "./googleOAuth.js";
import { HmsSandbox } from "./hms.js";
import { ThreemaGatewaySandbox, type ThreemaGatewayAccount } from "./threemaGateway.js";
import { WebPushSandbox } from "./webpush.js";

export const SANDBOX_APNS = { keyId: "SANDBOXKEY", teamId: "SANDBOXTEAM", topic: "org.example.herald.demo" } as const;
export const SANDBOX_FCM = { projectId: "herald-sandbox", legacyApiKey: "herald-sandbox-legacy-key" } as const;
/** The app ids of `apps()`. */
export const SANDBOX_APPS = {
  apns: `${SANDBOX_APNS.topic}.ios`,
  fcm: `${SANDBOX_APNS.topic}.android`,
  webpush: `${SANDBOX_APNS.topic}.web`,
  hms: `${SANDBOX_APNS.topic}.huawei`,
  threema: `${SANDBOX_APNS.topic}.threema`,
} as const;

export interface Sandbox {
  ca: SandboxCa;
  apns: ApnsSandbox;
  oauth: GoogleOAuthSandbox;
  fcm: FcmSandbox;
  webpush: WebPushSandbox;
  hms: HmsSandbox;
  threema: ThreemaGatewaySandbox;
  /** The gateway ID of the `threema` app. */
  threemaAccount: ThreemaGatewayAccount;
  /** The temporary directory with the credential files. */
  dir: string;
  files: { ca: string; apnsKey: string; serviceAccount: string; vapidKey: string; threemaKey: string };
  /** An `apps` section that sends everything to the sandbox. */
  apps(): Record<string, JsonObject>;
  close(): Promise<void>;
}

export async function startSandbox(options: { host?: string } = {}): Promise<Sandbox> {
  const dir = mkdtempSync(join(tmpdir(), "herald-sandbox-"));
  const ca = await createSandboxCa();
  const files = {
    ca: join(dir, "sandbox-ca.pem"),
    apnsKey: join(dir, `AuthKey_${SANDBOX_APNS.keyId}.p8`),
    serviceAccount: join(dir, "firebase-service-account.json"),
    vapidKey: join(dir, "vapid_private.pem"),
    threemaKey: join(dir, "threema-gateway-private.key"),
  };
  writeFileSync(files.ca, ca.certPem);

  const apnsKey = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  writeFileSync(files.apnsKey, apnsKey.privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  const apns = await ApnsSandbox.start({
    ca,
    host: options.host,
    keys: [
      {
        keyId: SANDBOX_APNS.keyId,
        teamId: SANDBOX_APNS.teamId,
        publicKeyPem: apnsKey.publicKey.export({ type: "spki", format: "pem" }).toString(),
      },
    ],
    topics: [SANDBOX_APNS.topic],
  });

  const oauth = await GoogleOAuthSandbox.start({ ca, host: options.host });
  writeFileSync(files.serviceAccount, JSON.stringify(oauth.createServiceAccount(SANDBOX_FCM.projectId), null, 2), {
    mode: 0o600,
  });
  const vapidKey = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  writeFileSync(files.vapidKey, vapidKey.privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  const webpush = await WebPushSandbox.start({ ca, host: options.host });
  const hms = await HmsSandbox.start({ ca, host: options.host });
  const hmsApp = hms.createApp();
  const threema = await ThreemaGatewaySandbox.start({ ca, host: options.host });
  const threemaAccount = threema.createAccount();
  writeFileSync(files.threemaKey, threemaAccount.privateKeyFile, { mode: 0o600 });
  const fcm = await FcmSandbox.start({ ca, oauth, host: options.host, legacyApiKeys: [SANDBOX_FCM.legacyApiKey] });

  return {
    ca,
    apns,
    oauth,
    fcm,
    webpush,
    hms,
    threema,
    threemaAccount,
    dir,
    files,
    apps: () => ({
      [SANDBOX_APPS.apns]: {
        type: "apns",
        endpoint: apns.url,
        ca: files.ca,
        keyfile: files.apnsKey,
        key_id: SANDBOX_APNS.keyId,
        team_id: SANDBOX_APNS.teamId,
        topic: SANDBOX_APNS.topic,
      },
      [SANDBOX_APPS.fcm]: {
        type: "gcm",
        api_version: "v1",
        endpoint: fcm.url,
        ca: files.ca,
        project_id: SANDBOX_FCM.projectId,
        service_account_file: files.serviceAccount,
      },
      [SANDBOX_APPS.webpush]: {
        type: "webpush",
        vapid_private_key: files.vapidKey,
        vapid_contact_email: "push-admin@example.org",
        ca: files.ca,
        allowed_endpoints: [new URL(webpush.url).host],
        // The sandbox listens on loopback (its URL names localhost), which Herald pushes to only when told to.
        allow_private_addresses: ["127.0.0.1", "::1"],
      },
      [SANDBOX_APPS.hms]: {
        type: "hms",
        app_id: hmsApp.appId,
        client_id: hmsApp.clientId,
        client_secret: hmsApp.clientSecret,
        endpoint: hms.url,
        token_endpoint: hms.tokenUrl,
        ca: files.ca,
      },
      [SANDBOX_APPS.threema]: {
        type: "threema",
        identity: threemaAccount.identity,
        secret: threemaAccount.secret,
        private_key_file: files.threemaKey,
        endpoint: threema.url,
        ca: files.ca,
      },
    }),
    async close() {
      await Promise.all([apns.close(), fcm.close(), oauth.close(), webpush.close(), hms.close(), threema.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
