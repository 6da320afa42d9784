/**
 * The `push_relay` section: validated with the rest of the config (errors name the key, unknown keys warn), its
 * credentials read at start-up (a broken one stops start-up, naming its key), and `check-config` building it too.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { writeYaml } from "../../src/config/yaml.js";
import { ConfigError, parseConfig } from "../../src/config/load.js";
import { PushRelayConfigError, readPushRelaySettings } from "../../src/pushRelay/settings.js";
import { runHerald } from "../helpers/processes.js";
import { startTestHerald } from "../helpers/herald.js";
import { tempDir } from "../helpers/tempDir.js";

const dir = tempDir(after, "herald-push-relay-config-");
const keyfile = join(dir, "AuthKey.p8");
const serviceAccountFile = join(dir, "service-account.json");
const serviceAccount = JSON.stringify({
  client_email: "relay@example.iam.gserviceaccount.com",
  private_key: generateKeyPairSync("rsa", { modulusLength: 2048 })
    .privateKey.export({ type: "pkcs8", format: "pem" })
    .toString(),
  token_uri: "https://oauth2.example.org/token",
});

before(() => {
  const key = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey;
  writeFileSync(keyfile, key.export({ type: "pkcs8", format: "pem" }));
  writeFileSync(serviceAccountFile, serviceAccount);
  writeFileSync(join(dir, "gateway.key"), `private:${"11".repeat(32)}\n`);
});

const APNS = { keyfile, key_id: "KEY", team_id: "TEAM" };
const FCM = { service_account_file: serviceAccountFile, project_id: "relay-project" };

function load(section: Record<string, unknown>, rest: Record<string, unknown> = {}) {
  return parseConfig(writeYaml({ ...rest, push_relay: section }), join(dir, "sygnal.yaml"), {});
}

function problemsOf(section: Record<string, unknown>): string[] {
  try {
    load(section);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  assert.fail("the config was accepted");
}

/** What reading the section's credentials throws. */
function setupError(section: Record<string, unknown>): string {
  const { config } = load(section);
  try {
    readPushRelaySettings(config.push_relay!, config.dir);
  } catch (error) {
    assert.ok(error instanceof PushRelayConfigError, String(error));
    return error.message;
  }
  assert.fail("the credentials were accepted");
}

describe("validation", () => {
  test("a push_relay section alone is a whole config: apps are optional then", () => {
    const { config, warnings } = load({ apns: APNS });
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.apps, {});
    assert.deepEqual(config.push_relay?.apns, APNS);
  });
  test("without push_relay, apps stay required", () => {
    assert.throws(
      () => parseConfig("http: {port: 5000}\n", "/etc/herald/sygnal.yaml", {}),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.problems.includes("apps: no apps are configured: add at least one app under 'apps'"),
    );
  });
  test("a missing or mistyped key is named", () => {
    assert.deepEqual(
      problemsOf({
        fcm: { service_account_file: "sa.json", project_id: true, max_retries: 300 },
        apns: { keyfile: "k.p8", key_id: "K" },
        hms: { "123": { client_id: "123" } },
        threema_gateway: { base_url: "msgapi.threema.ch", identity: "*3MAPUSH", secret: "s", private_key_file: "k" },
      }).sort(),
      [
        "push_relay.fcm.max_retries: must be <= 255, found number 300",
        "push_relay.fcm.project_id: expected a string or an integer, found boolean true (write it in quotes to make it a string)",
        "push_relay.hms.123.client_secret: required key is missing",
        "push_relay.apns.team_id: required key is missing",
        'push_relay.threema_gateway.base_url: expected a value matching ^https?://, found string "msgapi.threema.ch"',
      ].sort(),
    );
  });
  test("unknown keys warn; influxdb is accepted and ignored with a warning", () => {
    const { warnings } = load({
      apns: { ...APNS, colour: "blue" },
      influxdb: { connection_string: "http://127.0.0.1:8086", user: "u", pass: "p", db: "push" },
      frobnicate: 1,
    });
    assert.deepEqual(warnings.sort(), [
      "push_relay.apns.colour: unknown key, ignored",
      "push_relay.frobnicate: unknown key, ignored",
      "push_relay.influxdb: Herald writes no InfluxDB statistics; its push counts are Prometheus metrics (herald_push_relay_pushes_total); ignored",
    ]);
  });
  test("high_priority defaults to false; project_id may be written as a number", () => {
    const { config } = load({
      hms: { app: { client_id: "c", client_secret: "s" } },
      fcm: { ...FCM, project_id: 12345654321 },
    });
    assert.equal(config.push_relay?.hms?.app?.high_priority, false);
    const settings = readPushRelaySettings(config.push_relay!, config.dir);
    assert.equal(settings.fcm?.projectId, "12345654321");
  });
});

describe("credentials are read at start-up", () => {
  test("push-relay's base64 service account key, or a file; relative paths from the config's directory", () => {
    const base64 = Buffer.from(serviceAccount).toString("base64");
    const { config } = load({
      fcm: { service_account_key_base64: base64, project_id: "p" },
      apns: { ...APNS, keyfile: "AuthKey.p8" },
    });
    const settings = readPushRelaySettings(config.push_relay!, config.dir);
    assert.equal(settings.fcm?.serviceAccount.clientEmail, "relay@example.iam.gserviceaccount.com");
    assert.equal(settings.apns?.key.asymmetricKeyType, "ec");
    assert.deepEqual(settings.apns?.endpoints, {
      production: "https://api.push.apple.com",
      sandbox: "https://api.sandbox.push.apple.com",
    });
  });
  test("a missing APNs key file names push_relay.apns.keyfile", () => {
    assert.match(
      setupError({ apns: { ...APNS, keyfile: "nope.p8" } }),
      /^push_relay\.apns\.keyfile: The APNs key file '.*nope\.p8' does not exist\.$/,
    );
  });
  test("an APNs key file that is not an ES256 key names it", () => {
    assert.match(
      setupError({ apns: { ...APNS, keyfile: serviceAccountFile } }),
      /^push_relay\.apns\.keyfile: .* is not a PEM private key/,
    );
  });
  test("a base64 key that is not a service account names push_relay.fcm.service_account_key_base64", () => {
    assert.match(
      setupError({ fcm: { service_account_key_base64: "not base64!", project_id: "p" } }),
      /^push_relay\.fcm\.service_account_key_base64: not base64$/,
    );
    assert.match(
      setupError({ fcm: { service_account_key_base64: Buffer.from("{}").toString("base64"), project_id: "p" } }),
      /^push_relay\.fcm\.service_account_key_base64: must be a base64-encoded service account key: a service account key file has client_email/,
    );
  });
  test("both or neither of the service account keys is an error", () => {
    const both = { ...FCM, service_account_key_base64: Buffer.from(serviceAccount).toString("base64") };
    assert.match(setupError({ fcm: both }), /^push_relay\.fcm: give the service account/);
    assert.match(setupError({ fcm: { project_id: "p" } }), /^push_relay\.fcm: give the service account/);
  });
  test("a missing CA or Threema Gateway key file names its key", () => {
    assert.match(setupError({ apns: { ...APNS, ca: "ca.pem" } }), /^push_relay\.apns\.ca: /);
    assert.match(
      setupError({ hms: { "my app": { client_id: "c", client_secret: "s", ca: "ca.pem" } } }),
      /^push_relay\.hms\."my app"\.ca: /,
    );
    assert.match(
      setupError({
        threema_gateway: {
          base_url: "https://gw.example",
          identity: "*3MAPUSH",
          secret: "s",
          private_key_file: "no.key",
        },
      }),
      /^push_relay\.threema_gateway\.private_key_file: The Threema Gateway private key file '.*no\.key' does not exist\.$/,
    );
  });
  test("a broken credential stops start-up", async () => {
    await assert.rejects(
      startTestHerald({ push_relay: { apns: { ...APNS, keyfile: join(dir, "missing.p8") } } }),
      (e: unknown) => e instanceof PushRelayConfigError && e.message.startsWith("push_relay.apns.keyfile:"),
    );
  });
});

describe("herald check-config", () => {
  let configFile: string;
  let brokenFile: string;
  before(() => {
    configFile = join(dir, "good.yaml");
    writeFileSync(
      configFile,
      writeYaml({
        push_relay: {
          apns: APNS,
          hms: { a: { client_id: "a", client_secret: "s" }, b: { client_id: "b", client_secret: "s" } },
          threema_gateway: {
            base_url: "https://msgapi.threema.ch",
            identity: "*3MAPUSH",
            secret: "s",
            private_key_file: "gateway.key",
          },
        },
      }),
    );
    brokenFile = join(dir, "broken.yaml");
    writeFileSync(brokenFile, writeYaml({ push_relay: { fcm: { ...FCM, service_account_file: "gone.json" } } }));
  });
  const run = (file: string) => runHerald(["check-config", "--config", file]);

  test("builds the push_relay section and says what it serves", async () => {
    const result = await run(configFile);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /configuration OK, 0 app\(s\):/);
    assert.match(result.stdout, /^push_relay \(POST \/push\): apns, hms \(2 apps\), threema_gateway$/m);
    assert.equal(result.stderr, "", "no warnings");
  });
  test("exits 1 on a Threema Gateway key file not in push-relay's format, naming its key", async () => {
    const file = join(dirname(configFile), "bad-key.yaml");
    writeFileSync(join(dirname(configFile), "bad.key"), "not a key\n");
    const gateway = { base_url: "https://msgapi.threema.ch", identity: "*3MAPUSH", secret: "s" };
    writeFileSync(file, writeYaml({ push_relay: { threema_gateway: { ...gateway, private_key_file: "bad.key" } } }));
    const result = await run(file);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /push_relay\.threema_gateway\.private_key_file: The Threema Gateway private key file/);
  });
  test("exits 1 on a broken credential, naming its key", async () => {
    const result = await run(brokenFile);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /invalid configuration in .*broken\.yaml:\n {2}- push_relay\.fcm\.service_account_file: The FCM service account file '.*gone\.json' does not exist\./,
    );
  });
});
