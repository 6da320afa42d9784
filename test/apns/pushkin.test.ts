/**
 * The APNs pushkin over real HTTP/2 + TLS against the sandbox APNs: what reaches Apple, every row of the answer
 * table, authentication, GOAWAY, stream limits, the deadline and the proxy.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import { fixturesDir } from "../helpers/paths.js";
import { startConnectProxy } from "../helpers/connectProxy.js";
import { startTestHerald, type TestHerald } from "../helpers/herald.js";
import { waitFor } from "../helpers/waitFor.js";
import { deviceToken, startApnsFixture, TOPIC, type ApnsFixture } from "./apnsFixture.js";

const APP = "com.example.apns";
const fixtures = JSON.parse(readFileSync(join(fixturesDir, "expected-provider-payloads.json"), "utf8")) as {
  cases: Record<string, { notification: Record<string, unknown>; apns: { payload: unknown } }>;
};
const FULL = fixtures.cases.full!;

function notify(herald: TestHerald, pushkey: string, fields: Record<string, unknown> = FULL.notification, app = APP) {
  return herald.notify({ notification: { ...fields, devices: [{ app_id: app, pushkey }] } });
}

describe("APNs pushkin", () => {
  let apns: ApnsFixture;
  let herald: TestHerald;

  before(async () => {
    apns = await startApnsFixture();
    herald = await startTestHerald({
      request_deadline: 5,
      metrics: { prometheus: { enabled: true, address: "127.0.0.1", port: 0 } },
      apps: {
        [APP]: apns.tokenApp(),
        "com.example.apns.cert": apns.certApp(),
        "com.example.apns.push_type": apns.tokenApp({ push_type: "alert" }),
        "com.example.apns.nohex": apns.tokenApp({ convert_device_token_to_hex: false }),
        "com.example.apns.disable_badges": apns.tokenApp({ send_badge_counts: false }),
      },
    });
  });
  after(async () => {
    await herald.stop();
    await apns.close();
  });
  afterEach(() => apns.sandbox.reset());

  test("sends Sygnal's payload to /3/device/<hex token> with Apple's headers", async () => {
    const { hex, pushkey } = deviceToken(1);
    const res = await notify(herald, pushkey);
    assert.equal(await res.text(), '{"rejected": []}');
    const [push] = apns.sandbox.received;
    assert.ok(push);
    assert.equal(push.token, hex);
    assert.deepEqual(push.payload, FULL.apns.payload);
    assert.equal(push.topic, TOPIC);
    assert.equal(push.priority, "10");
    assert.equal(push.pushType, undefined, "apns-push-type only when configured");
    assert.match(push.apnsId ?? "", /^[0-9a-f-]{36}$/);
    assert.deepEqual(push.auth, { kind: "token", keyId: "KEY1234567", teamId: "TEAM123456" });
    assert.equal(push.body, JSON.stringify(FULL.apns.payload), "compact JSON");
  });

  test("an empty display name reaches Apple as an empty first loc-arg, not the Matrix ID or a space", async () => {
    const { hex, pushkey } = deviceToken(7);
    const res = await notify(herald, pushkey, { ...FULL.notification, sender_display_name: "" });
    assert.equal(await res.text(), '{"rejected": []}');
    const [push] = apns.sandbox.received;
    assert.ok(push);
    assert.equal(push.token, hex);
    assert.deepEqual(push.payload, {
      aps: {
        alert: {
          "loc-key": "MSG_FROM_USER_IN_ROOM_WITH_CONTENT",
          "loc-args": ["", "Mission Control", "I'm floating in a most peculiar way."],
        },
        badge: 3,
      },
      room_id: "!slw48wfj34rtnrf:example.com",
      event_id: "$qTOWWTEL48yPm3uT-gdNhFcoHxfKbZuqRVnnWWSkGBs",
    });
  });

  test("a low-priority notification is sent with apns-priority 5", async () => {
    await notify(herald, deviceToken(2).pushkey, { ...FULL.notification, prio: "low" });
    assert.equal(apns.sandbox.received[0]?.priority, "5");
  });

  test("push_type sets apns-push-type", async () => {
    await notify(herald, deviceToken(3).pushkey, FULL.notification, "com.example.apns.push_type");
    assert.equal(apns.sandbox.received[0]?.pushType, "alert");
  });

  test("certificate authentication: the topic is the certificate's UID", async () => {
    const res = await notify(herald, deviceToken(4).pushkey, FULL.notification, "com.example.apns.cert");
    assert.equal(res.status, 200);
    assert.deepEqual(apns.sandbox.received[0]?.auth, { kind: "certificate", uid: TOPIC });
    assert.equal(apns.sandbox.received[0]?.topic, TOPIC);
  });

  test("a pushkey that already is a hex token (64 hex digits) is sent as it is, not decoded as base64", async () => {
    const { hex } = deviceToken(6);
    const res = await notify(herald, hex.toUpperCase());
    assert.equal(await res.text(), '{"rejected": []}');
    assert.equal(apns.sandbox.received[0]?.token, hex);
  });

  test("convert_device_token_to_hex: false sends the pushkey as it is", async () => {
    const { hex } = deviceToken(5);
    await notify(herald, hex, FULL.notification, "com.example.apns.nohex");
    assert.equal(apns.sandbox.received[0]?.token, hex);
  });

  test("a pushkey that is not base64 is rejected without asking Apple", async () => {
    const res = await notify(herald, "fcm-token:APA91b-not-base64");
    assert.equal(await res.text(), '{"rejected": ["fcm-token:APA91b-not-base64"]}');
    assert.equal(apns.sandbox.requests, 0);
    assert.ok(herald.logs.some((l) => String(l.why).includes("not a base64 APNs token")));
  });

  test("an empty pushkey, or one too long to be a token, is rejected without asking Apple", async () => {
    const long = "a".repeat(4097);
    for (const app of [APP, "com.example.apns.nohex"]) {
      const res = await herald.notify({
        notification: {
          ...FULL.notification,
          devices: [
            { app_id: app, pushkey: "" },
            { app_id: app, pushkey: long },
          ],
        },
      });
      assert.equal(await res.text(), `{"rejected": ["", "${long}"]}`);
    }
    assert.equal(apns.sandbox.requests, 0);
    const said = herald.logs.map((line) => String(line.msg));
    assert.ok(said.includes("APNs token was rejected, nothing sent: the device token is empty"));
    assert.ok(said.includes("APNs token was rejected, nothing sent: the device token is over 4096 characters"));
  });

  test("a default_payload that is not an object is rejected without asking Apple", async () => {
    const res = await herald.notify({
      notification: {
        ...FULL.notification,
        devices: [{ app_id: APP, pushkey: "badpayload", data: { default_payload: null } }],
      },
    });
    assert.equal(await res.text(), '{"rejected": ["badpayload"]}');
    assert.equal(apns.sandbox.requests, 0);
  });

  test("send_badge_counts: false and a badge-only update: nothing is sent, nothing rejected", async () => {
    const res = await notify(
      herald,
      deviceToken(6).pushkey,
      { type: null, sender: "", counts: { unread: 2 } },
      "com.example.apns.disable_badges",
    );
    assert.equal(await res.text(), '{"rejected": []}');
    assert.equal(apns.sandbox.requests, 0);
  });

  describe("Apple's answers", () => {
    const rejectedCases: [number, string][] = [
      [410, "Unregistered"],
      [410, "ExpiredToken"],
      [400, "BadDeviceToken"],
      [400, "DeviceTokenNotForTopic"],
    ];
    for (const [i, [status, reason]] of rejectedCases.entries()) {
      test(`${status} ${reason}: the pushkey is rejected, once`, async () => {
        const { hex, pushkey } = deviceToken(100 + i);
        apns.sandbox.script(hex, { status, reason });
        const res = await notify(herald, pushkey);
        assert.equal(await res.text(), `{"rejected": ["${pushkey}"]}`);
        assert.equal(apns.sandbox.requests, 1, "not retried");
      });
    }

    const configurationErrors: [number, string][] = [
      [400, "TopicDisallowed"],
      [400, "BadTopic"],
      [403, "InvalidProviderToken"],
      [413, "PayloadTooLarge"],
    ];
    for (const [i, [status, reason]] of configurationErrors.entries()) {
      test(`${status} ${reason}: 502, never rejected, not retried`, async () => {
        const { hex, pushkey } = deviceToken(200 + i);
        apns.sandbox.script(hex, { status, reason });
        const res = await notify(herald, pushkey);
        assert.equal(res.status, 502);
        assert.match(String(((await res.json()) as { error: string }).error), new RegExp(`${status} ${reason}`));
        assert.equal(apns.sandbox.requests, 1);
      });
    }

    test("5xx is retried with backoff, then delivered", async () => {
      const { hex, pushkey } = deviceToken(300);
      apns.sandbox.script(
        hex,
        { status: 503, reason: "ServiceUnavailable" },
        { status: 500, reason: "InternalServerError" },
        { status: 200 },
      );
      const res = await notify(herald, pushkey);
      assert.equal(await res.text(), '{"rejected": []}');
      assert.equal(apns.sandbox.requests, 3);
    });

    test("5xx every time: three attempts, then 502, not rejected", async () => {
      const { hex, pushkey } = deviceToken(301);
      apns.sandbox.script(hex, { status: 503, reason: "ServiceUnavailable" });
      const res = await notify(herald, pushkey);
      assert.equal(res.status, 502);
      assert.equal(apns.sandbox.requests, 3);
    });

    test("429 with a Retry-After that fits in the deadline is retried after it", async () => {
      const { hex, pushkey } = deviceToken(302);
      apns.sandbox.script(hex, { status: 429, reason: "TooManyRequests", retryAfter: 1 }, { status: 200 });
      const started = Date.now();
      const res = await notify(herald, pushkey);
      assert.equal(res.status, 200);
      assert.ok(Date.now() - started >= 1000, "waited for Retry-After");
      assert.equal(apns.sandbox.requests, 2);
    });

    test("429 with a Retry-After beyond the deadline is 502 at once, with the Retry-After passed on", async () => {
      const { hex, pushkey } = deviceToken(303);
      apns.sandbox.script(hex, { status: 429, reason: "TooManyRequests", retryAfter: 60 });
      const res = await notify(herald, pushkey);
      assert.equal(res.status, 502);
      assert.equal(res.headers.get("retry-after"), "60");
      assert.equal(apns.sandbox.requests, 1);
    });

    test("a reset stream is retried", async () => {
      const { hex, pushkey } = deviceToken(304);
      apns.sandbox.script(hex, { status: 0, reset: true }, { status: 200 });
      const res = await notify(herald, pushkey);
      assert.equal(res.status, 200);
      assert.equal(apns.sandbox.received.length, 1);
    });
  });

  describe("connections", () => {
    test("one connection serves many requests", async () => {
      const before = apns.sandbox.sessionsOpened;
      for (let i = 0; i < 5; i++) assert.equal((await notify(herald, deviceToken(400 + i).pushkey)).status, 200);
      assert.ok(apns.sandbox.sessionsOpened - before <= 1);
    });

    test("GOAWAY: the refused request is sent again on a new connection, and nothing is lost", async () => {
      const { hex, pushkey } = deviceToken(410);
      apns.sandbox.script(hex, { status: 0, goaway: true }, { status: 200 });
      const before = apns.sandbox.sessionsOpened;
      const res = await notify(herald, pushkey);
      assert.equal(await res.text(), '{"rejected": []}');
      assert.equal(apns.sandbox.received.length, 1);
      assert.equal(apns.sandbox.sessionsOpened - before, 1, "a new connection");
    });

    test("after a graceful GOAWAY, later requests go to a new connection", async () => {
      await notify(herald, deviceToken(411).pushkey);
      const before = apns.sandbox.sessionsOpened;
      apns.sandbox.goawayAll();
      await waitFor("the connection closed after its GOAWAY", () => apns.sandbox.sessionsOpen === 0);
      assert.equal((await notify(herald, deviceToken(412).pushkey)).status, 200);
      assert.equal(apns.sandbox.sessionsOpened - before, 1);
    });
  });

  test("Sygnal's APNs metrics move", async () => {
    const { hex, pushkey } = deviceToken(500);
    apns.sandbox.script(hex, { status: 410, reason: "Unregistered" });
    await notify(herald, pushkey);
    const text = await (await fetch(`${herald.metricsUrl}/metrics`)).text();
    assert.match(text, /^sygnal_apns_status_codes_total\{pushkin="com\.example\.apns",code="410"\} [1-9]/m);
    assert.match(text, /^sygnal_apns_status_codes_total\{pushkin="com\.example\.apns",code="200"\} [1-9]/m);
    assert.match(text, /^sygnal_apns_request_time_count [1-9]/m);
    assert.match(text, /^sygnal_active_apns_requests 0$/m);
    assert.match(text, /^sygnal_client_cert_expiry\{pushkin="com\.example\.apns\.cert"\} \d{10}/m);
  });
});

describe("APNs pushkin, under constraints", () => {
  // Each test starts its own sandbox, Herald and proxy; they are stopped after it, last started first.
  const running: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const thing of running.splice(0).reverse()) await thing.stop();
  });
  async function fixture(options: Parameters<typeof startApnsFixture>[0] = {}) {
    const apns = await startApnsFixture(options);
    running.push({ stop: () => apns.close() });
    return apns;
  }
  async function heraldFor(config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) {
    const herald = await startTestHerald(config, env);
    running.push(herald);
    return herald;
  }
  async function proxyFor(options: Parameters<typeof startConnectProxy>[0] = {}) {
    const proxy = await startConnectProxy(options);
    running.push({ stop: () => proxy.close() });
    return proxy;
  }

  test("respects the server's SETTINGS_MAX_CONCURRENT_STREAMS", async () => {
    const apns = await fixture({ maxConcurrentStreams: 1 });
    apns.sandbox.faults = { latencyMs: 20 };
    const herald = await heraldFor({ apps: { [APP]: apns.tokenApp() } });
    const devices = Array.from({ length: 6 }, (_, i) => ({ app_id: APP, pushkey: deviceToken(600 + i).pushkey }));
    const res = await herald.notify({ notification: { ...FULL.notification, devices } });
    assert.equal(await res.text(), '{"rejected": []}');
    assert.equal(apns.sandbox.received.length, 6);
    assert.equal(apns.sandbox.peakConcurrentStreams, 1);
  });

  test("through an HTTP CONNECT proxy, with its credentials", async () => {
    const apns = await fixture();
    const proxy = await proxyFor({ requireAuth: "user:secret" });
    const proxyUrl = proxy.url.replace("http://", "http://user:secret@");
    const herald = await heraldFor({ proxy: proxyUrl, apps: { [APP]: apns.tokenApp() } });
    const res = await notify(herald, deviceToken(800).pushkey);
    assert.equal(await res.text(), '{"rejected": []}');
    assert.equal(apns.sandbox.received.length, 1);
    const port = new URL(apns.sandbox.url).port;
    assert.deepEqual(proxy.tunnels, [{ target: `localhost:${port}`, authorization: "Basic dXNlcjpzZWNyZXQ=" }]);
  });

  test("a proxy that refuses the tunnel is a 502, not a rejection", async () => {
    const apns = await fixture();
    const proxy = await proxyFor({ requireAuth: "user:secret" });
    const herald = await heraldFor({ request_deadline: 1, proxy: proxy.url, apps: { [APP]: apns.tokenApp() } });
    const res = await notify(herald, deviceToken(801).pushkey);
    assert.equal(res.status, 502);
    assert.match(
      String(((await res.json()) as { error: string }).error),
      /^push provider failure: the outbound proxy refused the tunnel to the provider \(407\)$/,
    );
  });

  test("HTTPS_PROXY is used when the config names no proxy", async () => {
    const apns = await fixture();
    const proxy = await proxyFor();
    const herald = await heraldFor({ apps: { [APP]: apns.tokenApp() } }, { HTTPS_PROXY: proxy.url });
    assert.equal((await notify(herald, deviceToken(802).pushkey)).status, 200);
    assert.equal(proxy.tunnels.length, 1);
  });

  test("a client certificate from another CA is refused by Apple: 502, not rejected", async () => {
    const apns = await fixture();
    const herald = await heraldFor({ apps: { [APP]: apns.certApp({ certfile: apns.files.otherCert }) } });
    const res = await notify(herald, deviceToken(803).pushkey);
    assert.equal(res.status, 502);
  });
});
