/**
 * `metrics.sentry`: unexpected errors reach a Sentry-compatible ingest endpoint on a real socket, each once, tagged
 * with the request id, and nothing of the request (pushkey, body, header) is in the bytes sent; disabled sends nothing.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ConfigError, parseConfig } from "../src/config/load.js";
import { writeYaml } from "../src/config/yaml.js";
import { shortPushkey } from "../src/observability/logger.js";
import { redacted } from "../src/observability/sentry.js";
import { startConnectProxy } from "./helpers/connectProxy.js";
import { device, notification, startTestHerald, testApp, type TestHerald } from "./helpers/herald.js";
import { runHerald } from "./helpers/processes.js";
import { startSentryIngest, type SentryIngest } from "./helpers/sentryIngest.js";
import { tempDir } from "./helpers/tempDir.js";
import { waitFor } from "./helpers/waitFor.js";

const APP = "com.example.spqr";

/** What a request carries besides its pushkey that must never be reported: from its body and its headers. */
const BODY_SECRET = "body-secret-7f3a9c";
const HEADER_SECRET = "header-secret-51be20";

interface Setup {
  ingest: SentryIngest;
  herald: TestHerald;
}

async function setUp(
  t: { after(fn: () => unknown): unknown },
  sentry: (dsn: string) => Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<Setup> {
  const ingest = await startSentryIngest();
  t.after(() => ingest.close());
  const herald = await startTestHerald({
    metrics: { sentry: sentry(ingest.dsn) },
    apps: { [APP]: testApp() },
    ...extra,
  });
  t.after(() => herald.stop());
  return { ingest, herald };
}

/** A /notify whose body and headers hold secrets besides the pushkeys. */
function notify(herald: TestHerald, devices: unknown[]): Promise<Response> {
  return fetch(`${herald.url}/_matrix/push/v1/notify`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${HEADER_SECRET}` },
    body: JSON.stringify(notification(devices, { sender: "@alice:example.org", content: { body: BODY_SECRET } })),
  });
}

function assertNothingOfTheRequest(ingest: SentryIngest, secrets: string[]): void {
  for (const envelope of ingest.envelopes) {
    for (const secret of [...secrets, BODY_SECRET, HEADER_SECRET]) {
      assert.ok(!envelope.raw.includes(secret), `the envelope holds ${secret}:\n${envelope.raw}`);
    }
  }
  for (const event of ingest.events()) {
    for (const key of ["request", "user", "extra", "breadcrumbs"]) assert.equal(event[key], undefined, key);
  }
}

const enabled = (dsn: string) => ({ enabled: true, dsn });

describe("Sentry", () => {
  test("a pushkin's exception (500): one event with the request id, and no pushkey, body or header in it", async (t) => {
    const { ingest, herald } = await setUp(t, enabled);
    const token = randomBytes(24).toString("base64url");
    const pushkey = `careless_exception:${token}`;
    const res = await notify(herald, [device("accept:a-device-delivered"), device(pushkey)]);
    assert.equal(res.status, 500);
    const requestId = res.headers.get("x-request-id");

    await waitFor("the event", () => ingest.events().length > 0);
    await herald.stop();
    const events = ingest.events();
    assert.equal(events.length, 1, "reported once");
    const [event] = events as [{ tags: Record<string, string>; exception: { values: { value: string }[] } }];
    assert.equal(event.tags.request_id, requestId);
    assert.equal(event.tags.app_id, APP);
    assert.equal(event.exception.values.at(-1)!.value, `test: unexpected exception for ${shortPushkey(pushkey)}`);
    assertNothingOfTheRequest(ingest, [pushkey, token, "a-device-delivered"]);
    assert.match(ingest.envelopes[0]!.url, /^\/api\/42\/envelope\/\?.*sentry_key=publickey/);
  });

  test("a pushkin's deviceOrigin that throws (a bug outside dispatch): one event with the request id", async (t) => {
    const { ingest, herald } = await setUp(t, enabled, { apps: { [APP]: testApp({ device_origins: true }) } });
    const pushkey = `accept:${randomBytes(24).toString("base64url")}`;
    const res = await notify(herald, [{ ...device(pushkey), data: { origin: "throw" } }]);
    assert.equal(res.status, 500);

    await waitFor("the event", () => ingest.events().length > 0);
    await herald.stop();
    assert.equal(ingest.events().length, 1, "reported once");
    const event = ingest.events()[0] as { tags: Record<string, string>; exception: { values: { value: string }[] } };
    assert.equal(event.tags.request_id, res.headers.get("x-request-id"));
    assert.equal(event.exception.values.at(-1)!.value, "test: deviceOrigin failed");
    assert.ok(herald.logs.some((l) => l.msg === "Unexpected error while dispatching"));
    assertNothingOfTheRequest(ingest, [pushkey]);
  });

  test("disabled (with a DSN): the same failures send nothing", async (t) => {
    const { ingest, herald } = await setUp(t, (dsn) => ({ enabled: false, dsn }));
    const res = await notify(herald, [device(`careless_exception:${randomBytes(24).toString("base64url")}`)]);
    assert.equal(res.status, 500);
    await herald.stop();
    assert.equal(ingest.requests, 0);
  });

  test("reports go through the outbound proxy, as the pushes do", async (t) => {
    const proxy = await startConnectProxy();
    t.after(() => proxy.close());
    const { ingest, herald } = await setUp(t, enabled, { proxy: proxy.url });
    assert.equal((await notify(herald, [device("raise_exception")])).status, 500);
    await waitFor("the event", () => ingest.events().length > 0);
    assert.deepEqual(
      proxy.tunnels.map((tunnel) => tunnel.target),
      [`127.0.0.1:${ingest.port}`],
    );
  });

  test("a start-up that fails unforeseen is reported once, then herald serve exits 1", async (t) => {
    const ingest = await startSentryIngest();
    t.after(() => ingest.close());
    const dir = tempDir(t);
    const file = join(dir, "sygnal.yaml");
    writeFileSync(
      file,
      writeYaml({
        http: { bind_addresses: ["127.0.0.1"], port: 0 },
        metrics: { sentry: { enabled: true, dsn: ingest.dsn } },
        apps: { [APP]: testApp({ fail_credential_check: true }) },
      }),
    );
    const run = await runHerald(["serve", "--config", file]);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /Start-up failed: test: the credential check failed/);
    const events = ingest.events() as { tags: Record<string, string>; exception: { values: { value: string }[] } }[];
    assert.equal(events.length, 1);
    assert.equal(events[0]!.tags.phase, "start-up");
    assert.equal(events[0]!.exception.values.at(-1)!.value, "test: the credential check failed");
  });
});

describe("what an event's text keeps", () => {
  test("the request's pushkeys shortened as the log shortens them", () => {
    const pushkey = "f".repeat(64);
    assert.equal(redacted(`no device for ${pushkey}.`, [pushkey]), `no device for ${shortPushkey(pushkey)}.`);
  });
  test("anything that looks like a token or a key redacted; words, paths and addresses kept", () => {
    const fcmToken = "cR8dT1xYQ0e2:APA91bHqW1nP4k-9zX0vL7mF3sD8gH2jK5lQ0wE9rT6yU1iO4pA7sD";
    assert.equal(redacted(`FCM said no to ${fcmToken}`, []), "FCM said no to [redacted]");
    const jwt = "eyJhbGciOiJFUzI1NiIsImtpZCI6IkFCQzEyMyJ9.eyJpc3MiOiJURUFNSUQiLCJpYXQiOjE3MDAwMDAwMDB9";
    assert.equal(redacted(`Bearer ${jwt}`, []), "Bearer [redacted].[redacted]");
    for (const text of [
      "Cannot read properties of undefined (reading 'kind')",
      "connect ECONNREFUSED 127.0.0.1:443",
      "ENOENT: no such file or directory, open '/etc/herald/credentials/apns_key.p8'",
    ]) {
      assert.equal(redacted(text, []), text);
    }
  });
});

describe("metrics.sentry in the configuration", () => {
  const load = (sentry: string) =>
    parseConfig(`metrics: {sentry: ${sentry}}\napps: {a: {type: ${JSON.stringify(testApp().type)}}}\n`, "/x.yaml");
  test("a DSN is read, with no warning", () => {
    const { config, warnings } = load("{enabled: true, dsn: 'https://abc123@o1.ingest.example.org/42'}");
    assert.deepEqual(config.metrics.sentry, { enabled: true, dsn: "https://abc123@o1.ingest.example.org/42" });
    assert.deepEqual(warnings, []);
  });
  test("enabled without a DSN warns that nothing is reported", () => {
    assert.deepEqual(load("{enabled: true}").warnings, [
      "metrics.sentry.enabled: no metrics.sentry.dsn is set, so nothing is reported to Sentry",
    ]);
  });
  test("a DSN that is not one stops start-up, naming the key and not repeating the DSN", () => {
    for (const dsn of ["not a url", "https://o1.ingest.example.org/42", "ftp://key@host/42", "https://key@host/"]) {
      assert.throws(
        () => load(`{enabled: true, dsn: '${dsn}'}`),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.problems.length === 1 &&
          error.problems[0]!.startsWith("metrics.sentry.dsn: expected a Sentry DSN") &&
          !error.message.includes(dsn),
      );
    }
    assert.deepEqual(load("{enabled: false, dsn: 'not a url'}").warnings, [], "not checked while disabled");
  });
});
