/**
 * A sandbox APNs with token and certificate credentials written to files, as an operator's would be, and the
 * Herald `apps` that point at it.
 */
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApnsSandbox, type ApnsSandboxOptions } from "../../src/sandbox/apns.js";
import { createSandboxCa, type SandboxCa } from "../../src/sandbox/ca.js";

export const TOPIC = "com.example.app";
export const KEY_ID = "KEY1234567";
export const TEAM_ID = "TEAM123456";

export interface ApnsFixture {
  ca: SandboxCa;
  sandbox: ApnsSandbox;
  files: { ca: string; key: string; cert: string; otherCert: string };
  /** A token-auth app pointing at the sandbox, with extra keys. */
  tokenApp(extra?: Record<string, unknown>): Record<string, unknown>;
  certApp(extra?: Record<string, unknown>): Record<string, unknown>;
  clock: { offsetMs: number };
  /** Stops the sandbox and removes the credential files. */
  close(): Promise<void>;
}

export async function startApnsFixture(options: Partial<ApnsSandboxOptions> = {}): Promise<ApnsFixture> {
  const dir = mkdtempSync(join(tmpdir(), "herald-apns-test-"));
  const ca = await createSandboxCa();
  const key = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const clock = { offsetMs: 0 };
  const sandbox = await ApnsSandbox.start({
    ca,
    keys: [
      {
        keyId: KEY_ID,
        teamId: TEAM_ID,
        publicKeyPem: key.publicKey.export({ type: "spki", format: "pem" }).toString(),
      },
    ],
    topics: [TOPIC],
    now: () => Date.now() + clock.offsetMs,
    ...options,
  });
  const client = await ca.issueClientCertificate({ uid: TOPIC });
  const other = await (await createSandboxCa()).issueClientCertificate({ uid: TOPIC });
  const files = {
    ca: join(dir, "ca.pem"),
    key: join(dir, `AuthKey_${KEY_ID}.p8`),
    cert: join(dir, "apns-cert.pem"),
    otherCert: join(dir, "other-ca-cert.pem"),
  };
  writeFileSync(files.ca, ca.certPem);
  writeFileSync(files.key, key.privateKey.export({ type: "pkcs8", format: "pem" }));
  writeFileSync(files.cert, client.certPem + client.keyPem);
  writeFileSync(files.otherCert, other.certPem + other.keyPem);
  return {
    ca,
    sandbox,
    files,
    clock,
    tokenApp: (extra = {}) => ({
      type: "apns",
      endpoint: sandbox.url,
      ca: files.ca,
      keyfile: files.key,
      key_id: KEY_ID,
      team_id: TEAM_ID,
      topic: TOPIC,
      ...extra,
    }),
    certApp: (extra = {}) => ({ type: "apns", endpoint: sandbox.url, ca: files.ca, certfile: files.cert, ...extra }),
    close: async () => {
      await sandbox.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A device token in hex and the base64 pushkey an iOS client registers for it. */
export function deviceToken(n: number): { hex: string; pushkey: string } {
  const hex = n.toString(16).padStart(8, "0").repeat(8);
  return { hex, pushkey: Buffer.from(hex, "hex").toString("base64") };
}
