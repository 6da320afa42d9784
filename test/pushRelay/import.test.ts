/** `herald import-push-relay`: push-relay's config.toml in, the push_relay section of Herald's config out. */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { parseConfig } from "../../src/config/load.js";
import { runHerald } from "../helpers/processes.js";
import { tempDir } from "../helpers/tempDir.js";

const dir = tempDir(after, "herald-import-");

/** push-relay's README config, with every section, an InfluxDB section and a project id written as a number. */
const SAMPLE = `[fcm]
service_account_key_base64 = "aHR0cHM6Ly93d3cueW91dHViZS5jb20vd2F0Y2g/dj1kUXc0dzlXZ1hjUQo="
project_id = 12345654321
max_retries = 6
timeout_secs = 30

[apns]
keyfile = "your-keyfile.p8"
key_id = "AB123456XY"
team_id = "CD987654YZ"

[hms.app-id-1]
client_id = "your-client-id"
client_secret = "yes"

[hms.app-id-2]
client_id = "your-client-id-2"
client_secret = "your-client-secret"
high_priority = true

[threema_gateway]
base_url = "https://msgapi.threema.ch"
identity = "*3MAPUSH"
secret = "secret-for-*3MAPUSH"
private_key_file = "private-key-file-for-*3MAPUSH"

[influxdb]
connection_string = "http://127.0.0.1:8086"
user = "foo"
pass = "bar"
db = "baz"
`;

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function run(args: string[]) {
  return runHerald(["import-push-relay", ...args]);
}

describe("herald import-push-relay", () => {
  test("prints the push_relay section, which Herald reads back as push-relay's settings", async () => {
    const result = await run([file("config.toml", SAMPLE)]);
    assert.equal(result.code, 0, result.stderr);
    const { config, warnings } = parseConfig(result.stdout, join(dir, "sygnal.yaml"), {});
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.apps, {});
    assert.deepEqual(config.push_relay, {
      fcm: {
        service_account_key_base64: "aHR0cHM6Ly93d3cueW91dHViZS5jb20vd2F0Y2g/dj1kUXc0dzlXZ1hjUQo=",
        project_id: "12345654321",
        max_retries: 6,
        timeout_secs: 30,
      },
      apns: { keyfile: "your-keyfile.p8", key_id: "AB123456XY", team_id: "CD987654YZ" },
      hms: {
        "app-id-1": { client_id: "your-client-id", client_secret: "yes", high_priority: false },
        "app-id-2": { client_id: "your-client-id-2", client_secret: "your-client-secret", high_priority: true },
      },
      threema_gateway: {
        base_url: "https://msgapi.threema.ch",
        identity: "*3MAPUSH",
        secret: "secret-for-*3MAPUSH",
        private_key_file: "private-key-file-for-*3MAPUSH",
      },
      // Herald's own limits, which push-relay does not have, at their defaults.
      rate_limits: { per_address: { requests: 120, period: 60 }, per_recipient: { requests: 20, period: 300 } },
    });
  });
  test("says in comments what does not carry over: InfluxDB, and keys push-relay does not have", async () => {
    const result = await run([
      file("extra.toml", `${SAMPLE}\n[sentry]\ndsn = "x"\n`.replace("[apns]", "[apns]\nsandbox = true")),
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^# Not carried over:$/m);
    assert.match(
      result.stdout,
      /^# {3}influxdb: Herald writes no InfluxDB statistics; .*herald_push_relay_pushes_total/m,
    );
    assert.match(result.stdout, /^# {3}apns\.sandbox: not a key of push-relay's config$/m);
    assert.match(result.stdout, /^# {3}sentry: not a section of push-relay's config$/m);
    assert.doesNotMatch(result.stdout, /connection_string|dsn|sandbox: true/);
  });
  test("a file that is not TOML: exit 1, with where it breaks", async () => {
    const result = await run([file("broken.toml", "[apns\nkeyfile = 1\n")]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /^herald import-push-relay: .*broken\.toml: not valid TOML: .*\n\n1: {2}\[apns/);
  });
  test("values Herald cannot use: exit 1, naming each key", async () => {
    const result = await run([file("wrong.toml", '[apns]\nkeyfile = 5\nkey_id = "K"\n[fcm]\nproject_id = "p"\n')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Herald cannot use these values:/);
    assert.match(
      result.stderr,
      /^ {2}- apns\.keyfile: expected a string, found number 5 \(write it in quotes to make it a string\)$/m,
    );
    assert.match(result.stderr, /^ {2}- apns\.team_id: required key is missing$/m);
  });
  test("an empty or missing file: exit 1; no file given: usage, exit 2", async () => {
    assert.match((await run([file("empty.toml", "\n")])).stderr, /the file is empty/);
    const missing = await run([join(dir, "nope.toml")]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.toml: the file does not exist/);
    assert.equal((await run([])).code, 2);
  });
});
