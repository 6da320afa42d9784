/**
 * `herald send-test` as an app developer runs it, against the sandbox providers: what it sends, and how it tells each
 * answer (delivered, a dead token with its likely cause, refused credentials with the fix, a provider that fails).
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import { writeYaml } from "../src/config/yaml.js";
import { SANDBOX_APPS, startSandbox, type Sandbox } from "../src/sandbox/index.js";
import { runHerald } from "./helpers/processes.js";
import { tempDir } from "./helpers/tempDir.js";

const IPHONE = "ab".repeat(32);
/** The WebPush app without allow_private_addresses: the sandbox, on loopback, is refused by the SSRF guard. */
const NOT_OPTED_IN = "org.example.web.not-opted-in";
const base64 = (hex: string) => Buffer.from(hex, "hex").toString("base64");

describe("herald send-test", () => {
  let sandbox: Sandbox;
  const config = join(tempDir(after, "herald-send-test-"), "sygnal.yaml");
  before(async () => {
    sandbox = await startSandbox();
    const apps = sandbox.apps();
    const { allow_private_addresses: _, ...notOptedIn } = apps[SANDBOX_APPS.webpush]!;
    writeFileSync(config, writeYaml({ request_deadline: 3, apps: { ...apps, [NOT_OPTED_IN]: notOptedIn } }));
  });
  after(() => sandbox.close());
  afterEach(() => {
    sandbox.apns.reset();
    sandbox.fcm.reset();
  });

  const sendTest = (...args: string[]) => runHerald(["send-test", "--config", config, ...args]);

  test("delivers a test message through the app's provider and says so, exit 0", async () => {
    const run = await sendTest("--app", SANDBOX_APPS.apns, "--pushkey", base64(IPHONE));
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /Sending a test notification through app '.*\.ios' \(apns\)/);
    assert.match(
      run.stdout,
      /Delivered: the provider accepted the push\.\nIf the device shows nothing: is the app's bundle id/,
    );
    const [push] = sandbox.apns.received;
    assert.equal(push?.token, IPHONE);
    assert.match(JSON.stringify(push?.payload), /A test push from herald send-test/);
  });

  test("FCM: the data map reaches FCM, and the hint says the app must show data messages", async () => {
    const run = await sendTest("--app", SANDBOX_APPS.fcm, "--pushkey", "fcm-send-test-token");
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /FirebaseMessagingService/);
    assert.equal(sandbox.fcm.received[0]?.token, "fcm-send-test-token");
  });

  test("a dead token: rejected, with Apple's reason, its likely cause, and what a homeserver would do; exit 1", async () => {
    sandbox.apns.script(IPHONE, { status: 400, reason: "BadDeviceToken" });
    const run = await sendTest("--app", SANDBOX_APPS.apns, "--pushkey", base64(IPHONE));
    assert.equal(run.code, 1);
    assert.match(run.stdout, /Rejected: APNs answered 400 BadDeviceToken\./);
    assert.match(run.stdout, /a development build's token sent to production/);
    assert.match(run.stdout, /the pusher deleted/);
  });

  test("refused credentials: the provider's answer and the fix", async () => {
    sandbox.apns.script(IPHONE, { status: 403, reason: "InvalidProviderToken" });
    const run = await sendTest("--app", SANDBOX_APPS.apns, "--pushkey", base64(IPHONE));
    assert.equal(run.code, 1);
    assert.match(
      run.stdout,
      /Failed: the app's credentials do not work \(the provider answered 403 InvalidProviderToken\)/,
    );
    assert.match(run.stdout, /to fix: check key_id and team_id/);
  });

  test("a provider that keeps failing: failed for now, the pusher kept", async () => {
    sandbox.apns.script(IPHONE, { status: 503, reason: "ServiceUnavailable" });
    const run = await sendTest("--app", SANDBOX_APPS.apns, "--pushkey", base64(IPHONE));
    assert.equal(run.code, 1);
    assert.match(run.stdout, /Failed for now: .* \(the provider answered 503 ServiceUnavailable\)/);
    assert.match(run.stdout, /the pusher is kept/);
  });

  test("a hex pushkey for an app that expects base64: rejected, nothing sent, the reason explained", async () => {
    const run = await sendTest("--app", SANDBOX_APPS.apns, "--pushkey", `${IPHONE}a`); // 65 characters: not base64
    assert.equal(run.code, 1);
    assert.match(run.stdout, /iOS pushers carry the APNs token in base64/);
    assert.equal(sandbox.apns.received.length, 0);
  });

  test("WebPush: --data carries the subscription's endpoint and auth", async () => {
    const subscription = sandbox.webpush.createSubscription();
    const data = JSON.stringify({ endpoint: subscription.endpoint, auth: subscription.keys.auth });
    const run = await sendTest("--app", SANDBOX_APPS.webpush, "--pushkey", subscription.keys.p256dh, "--data", data);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /showNotification/);
  });

  test("WebPush: an endpoint the SSRF guard refuses: nothing sent, and the hint names allow_private_addresses", async () => {
    const subscription = sandbox.webpush.createSubscription();
    const data = JSON.stringify({ endpoint: subscription.endpoint, auth: subscription.keys.auth });
    const run = await sendTest("--app", NOT_OPTED_IN, "--pushkey", subscription.keys.p256dh, "--data", data);
    assert.equal(run.code, 1);
    assert.match(
      run.stdout,
      /Nothing was sent: endpoint refused: .*\nA push service on a special-purpose address .* allow_private_addresses/,
    );
  });

  test("WebPush: a refused VAPID signature is a credential problem, with the VAPID fix only", async () => {
    const subscription = sandbox.webpush.createSubscription();
    sandbox.webpush.script(subscription.id, { status: 403 });
    const data = JSON.stringify({ endpoint: subscription.endpoint, auth: subscription.keys.auth });
    const run = await sendTest("--app", SANDBOX_APPS.webpush, "--pushkey", subscription.keys.p256dh, "--data", data);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /Failed: the app's credentials do not work \(the provider answered 403\)/);
    assert.match(run.stdout, /vapid_private_key/);
    assert.doesNotMatch(run.stdout, /allowed_endpoints/);
  });

  test("an app id no app serves: not sent, the configured apps listed", async () => {
    const run = await sendTest("--app", "com.example.nowhere", "--pushkey", "k");
    assert.equal(run.code, 1);
    assert.match(
      run.stdout,
      /Not sent: app_id 'com\.example\.nowhere' cannot be served: no app of .* matches it \(apps: /,
    );
  });

  test("wrong usage exits 2", async () => {
    assert.equal((await sendTest("--app", SANDBOX_APPS.apns)).code, 2);
    assert.equal((await sendTest("--app", SANDBOX_APPS.apns, "--pushkey", "k", "--data", "[1]")).code, 2);
  });
});
