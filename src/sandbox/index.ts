/**
 * The sandbox providers, started together with throwaway credentials, for `herald demo`, the tests and the
 * benchmark: a CA, and a fake APNs that checks every JWT like Apple. Credential files (the CA certificate, an APNs
 * .p8 key) are written to a fresh temporary directory, so that a Herald config can point at them as at real ones.
 */
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JsonObject } from "../core/notification.js";
import { ApnsSandbox } from "./apns.js";
import { createSandboxCa, type SandboxCa } from "./ca.js";

export const SANDBOX_APNS = { keyId: "SANDBOXKEY", teamId: "SANDBOXTEAM", topic: "org.example.herald.demo" } as const;

export interface Sandbox {
  ca: SandboxCa;
  apns: ApnsSandbox;
  /** The temporary directory with the credential files. */
  dir: string;
  files: { ca: string; apnsKey: string };
  /** An `apps` section that sends everything to the sandbox. */
  apps(): Record<string, JsonObject>;
  close(): Promise<void>;
}

export async function startSandbox(options: { host?: string } = {}): Promise<Sandbox> {
  const dir = mkdtempSync(join(tmpdir(), "herald-sandbox-"));
  const ca = await createSandboxCa();
  const files = { ca: join(dir, "sandbox-ca.pem"), apnsKey: join(dir, `AuthKey_${SANDBOX_APNS.keyId}.p8`) };
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

  return {
    ca,
    apns,
    dir,
    files,
    apps: () => ({
      [`${SANDBOX_APNS.topic}.ios`]: {
        type: "apns",
        endpoint: apns.url,
        ca: files.ca,
        keyfile: files.apnsKey,
        key_id: SANDBOX_APNS.keyId,
        team_id: SANDBOX_APNS.teamId,
        topic: SANDBOX_APNS.topic,
      },
    }),
    async close() {
      await apns.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
