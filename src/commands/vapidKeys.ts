/**
 * `herald vapid-keys [--out FILE]`: makes the VAPID key pair of a WebPush app. The private key goes to a new PEM file
 * (never over an existing one) for `vapid_private_key`; the public key, printed, is the applicationServerKey the web
 * client subscribes with.
 */
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { readVapidKeys } from "../pushkins/webpush/settings.js";

export async function vapidKeys(out: string | undefined): Promise<number> {
  const path = resolve(out ?? "vapid_private.pem");
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  try {
    writeFileSync(path, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600, flag: "wx" });
  } catch (error) {
    const exists = (error as NodeJS.ErrnoException).code === "EEXIST";
    console.error(
      `herald vapid-keys: cannot write ${path}: ${exists ? "the file exists (it is not replaced)" : String(error)}`,
    );
    return 1;
  }
  const { publicKey } = readVapidKeys(path);
  console.log(`Wrote a VAPID private key to ${path}.

applicationServerKey (the web client subscribes with it):
  ${publicKey}

In sygnal.yaml:
  apps:
    <app id>:
      type: webpush
      vapid_private_key: ${path}
      vapid_contact_email: push-admin@example.org`);
  return 0;
}
