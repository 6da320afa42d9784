/**
 * A sygnal.yaml in the shape of Sygnal's sample with its app blocks uncommented (test/config/sygnal-sample-shape.yaml:
 * empty sections, a v1 app with the empty api_key left over, a leading-zero key id) passes `herald check-config`, as
 * it starts Sygnal.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseConfig } from "../../src/config/load.js";
import { createSandboxCa } from "../../src/sandbox/ca.js";
import { DEFAULT_HTTP, DEFAULT_PROMETHEUS } from "../helpers/configDefaults.js";
import { repoRoot } from "../helpers/paths.js";
import { runHerald } from "../helpers/processes.js";
import { tempDir } from "../helpers/tempDir.js";

const SAMPLE = join(repoRoot, "test/config/sygnal-sample-shape.yaml");

/** The credential files the sample names, beside it. */
async function writeCredentials(dir: string): Promise<void> {
  const certificate = await (await createSandboxCa()).issueClientCertificate({ uid: "com.example.myapp.ios" });
  writeFileSync(join(dir, "com.example.myApp_prod_APNS.pem"), certificate.certPem + certificate.keyPem);
  const apnsKey = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey;
  writeFileSync(join(dir, "my_key.p8"), apnsKey.export({ type: "pkcs8", format: "pem" }));
  const googleKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  writeFileSync(
    join(dir, "service_account.json"),
    JSON.stringify({
      type: "service_account",
      project_id: "project-id-123",
      private_key: googleKey.export({ type: "pkcs8", format: "pem" }),
      client_email: "push@project-id-123.iam.gserviceaccount.com",
      token_uri: "https://oauth2.googleapis.com/token",
    }),
  );
}

test("herald check-config accepts it, with warnings only for what it ignores", async (t) => {
  const dir = tempDir(t, "herald-sample-");
  const config = join(dir, "sygnal.yaml");
  copyFileSync(SAMPLE, config);
  await writeCredentials(dir);

  const run = await runHerald(["check-config", "--config", config]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(
    run.stdout,
    `${config}: configuration OK, 4 app(s):\n` +
      "  com.example.myapp.ios (apns)\n" +
      "  com.example.myotherapp.ios (apns)\n" +
      "  com.example.myapp.android (gcm)\n" +
      "  com.example.myotherapp.android (gcm)\n",
  );
  assert.match(
    run.stderr,
    /warning: apps\."com\.example\.myotherapp\.android": api_key is not used with api_version: v1; ignored/,
  );
  assert.match(run.stderr, /warning: apps\."com\.example\.myapp\.android": the FCM legacy API was shut down/);
  assert.doesNotMatch(run.stderr, /unknown key/);
});

test("it reads as Sygnal reads it: empty sections take their defaults, the key id stays a string", () => {
  const { config, warnings } = parseConfig(readFileSync(SAMPLE, "utf8"), "/etc/sygnal/sygnal.yaml", {});
  assert.deepEqual(warnings, []);
  assert.equal(config.log.level, "info", "the root logger's INFO");
  assert.deepEqual(config.log.access, { x_forwarded_for: false });
  assert.deepEqual(config.http, DEFAULT_HTTP);
  assert.deepEqual(config.metrics.prometheus, DEFAULT_PROMETHEUS);
  assert.equal(config.proxy, undefined);
  assert.equal(config.apps["com.example.myotherapp.ios"]!.key_id, "0123456789");
  assert.equal(config.apps["com.example.myotherapp.android"]!.api_key, null);
});
