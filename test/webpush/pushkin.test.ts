/**
 * The WebPush pushkin over real sockets against the sandbox push service, which checks VAPID and decrypts every
 * message: the plaintext, the headers, Sygnal's checks, each answer row, the SSRF guard and its opt-ins, the outbound
 * proxy, the deadline.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import { readVapidKeys } from "../../src/pushkins/webpush/settings.js";
import { SANDBOX_APPS, startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { WebPushSandbox } from "../../src/sandbox/webpush.js";
import { startConnectProxy, type ConnectProxy } from "../helpers/connectProxy.js";
import { startTestHerald, type TestHerald } from "../helpers/herald.js";
import { fixturesDir } from "../helpers/paths.js";
import { closedPort } from "../helpers/ports.js";

const WEB = SANDBOX_APPS.webpush;
/** An app whose allowed push service is a host under `.invalid`, a name that never resolves. */
const UNRESOLVABLE = "com.example.web.unresolvable";
const fixtures = JSON.parse(readFileSync(join(fixturesDir, "expected-provider-payloads.json"), "utf8")) as {
  cases: Record<string, { notification: Record<string, unknown>; webpush_plaintext_payload: unknown }>;
};
const FULL = fixtures.cases.full!;

describe("WebPush pushkin", () => {
  let sandbox: Sandbox;
  let herald: TestHerald;
  /** A browser subscription as the device of a pusher. */
  const browser = (data: Record<string, unknown> = {}) => {
    const subscription = sandbox.webpush.createSubscription();
    return {
      subscription,
      device: {
        app_id: WEB,
        pushkey: subscription.keys.p256dh,
        data: { endpoint: subscription.endpoint, auth: subscription.keys.auth, ...data },
      },
    };
  };
  const notify = (devices: unknown[], fields: Record<string, unknown> = FULL.notification) =>
    herald.notify({ notification: { ...fields, devices } });

  before(async () => {
    sandbox = await startSandbox();
    herald = await startTestHerald({
      request_deadline: 5,
      metrics: { prometheus: { enabled: true, address: "127.0.0.1", port: 0 } },
      apps: {
        [WEB]: sandbox.apps()[WEB]!,
        // allowed_endpoints lists the sandbox's host, but nothing lets it reach loopback.
        "com.example.web.not-opted-in": { ...sandbox.apps()[WEB]!, allow_private_addresses: undefined },
        "com.example.web.ttl": { ...sandbox.apps()[WEB]!, ttl: 60 },
        // Herald's defaults: any host, no special-purpose address.
        "com.example.web.any": {
          ...sandbox.apps()[WEB]!,
          allowed_endpoints: undefined,
          allow_private_addresses: undefined,
        },
        // Any host on loopback.
        "com.example.web.loopback": { ...sandbox.apps()[WEB]!, allowed_endpoints: undefined },
        [UNRESOLVABLE]: { ...sandbox.apps()[WEB]!, allowed_endpoints: ["push.herald-test.invalid"] },
      },
    });
  });
  after(async () => {
    await herald.stop();
    await sandbox.close();
  });
  afterEach(() => sandbox.webpush.reset());

  test("the browser receives Sygnal's payload, encrypted for it, with VAPID, TTL and Urgency", async () => {
    const { device } = browser();
    const res = await notify([device]);
    assert.equal(await res.text(), '{"rejected": []}');
    const [push] = sandbox.webpush.received;
    assert.ok(push);
    assert.deepEqual(push.payload, FULL.webpush_plaintext_payload);
    assert.equal(push.ttl, 900);
    assert.equal(push.urgency, "normal");
    assert.equal(push.topic, undefined);
    assert.equal(push.vapid.aud, sandbox.webpush.url);
    assert.equal(push.vapid.sub, "mailto:push-admin@example.org");
    assert.equal(push.vapid.publicKey, readVapidKeys(sandbox.files.vapidKey).publicKey);
    const hoursAhead = (push.vapid.exp * 1000 - Date.now()) / 3_600_000;
    assert.ok(hoursAhead > 11 && hoursAhead <= 24, `exp ${hoursAhead} h ahead`);
  });

  test("one VAPID signature serves every push to a push service (signing is most of a message's cost)", async () => {
    await notify([browser().device]);
    await notify([browser().device]);
    const [first, second] = sandbox.webpush.received;
    assert.ok(first && second);
    assert.equal(first.headers.authorization, second.headers.authorization);
  });

  test("prio low is Urgency low; ttl comes from the config; only_last_per_room sets Sygnal's Topic", async () => {
    const { device } = browser({ only_last_per_room: true });
    await herald.notify({
      notification: { ...FULL.notification, prio: "low", devices: [{ ...device, app_id: "com.example.web.ttl" }] },
    });
    const [push] = sandbox.webpush.received;
    assert.equal(push?.urgency, "low");
    assert.equal(push?.ttl, 60);
    assert.equal(push?.topic, "KT_bhozU196tNhXVsoCxGq9v4bKaoA==");
  });

  test("events_only: a count-only update is not pushed, and not rejected", async () => {
    const { device } = browser({ events_only: true });
    const res = await notify([device], { counts: { unread: 3 } });
    assert.equal(await res.text(), '{"rejected": []}');
    assert.equal(sandbox.webpush.requests, 0);
  });

  test("a pusher without data, endpoint or auth is rejected without a request, as Sygnal", async () => {
    const { device } = browser();
    const cases = [
      { app_id: WEB, pushkey: "k1" },
      { ...device, pushkey: "k2", data: { auth: "x" } },
      { ...device, pushkey: "k3", data: { endpoint: device.data.endpoint } },
      { ...device, pushkey: "" },
    ];
    const res = await notify(cases);
    assert.equal(await res.text(), '{"rejected": ["k1", "k2", "k3", ""]}');
    assert.equal(sandbox.webpush.requests, 0);
  });

  describe("the push service's answers", () => {
    for (const status of [404, 410]) {
      test(`${status}: the pushkey is rejected`, async () => {
        const { device, subscription } = browser();
        sandbox.webpush.script(subscription.id, { status });
        assert.equal(await (await notify([device])).text(), `{"rejected": ["${device.pushkey}"]}`);
      });
    }
    test("an expired subscription (410 from the service itself) is rejected", async () => {
      const { device, subscription } = browser();
      sandbox.webpush.expire(subscription.id);
      assert.equal(await (await notify([device])).text(), `{"rejected": ["${device.pushkey}"]}`);
    });
    for (const status of [401, 403]) {
      test(`${status}: the VAPID signature refused is a credential failure, 502, not rejected and not retried`, async () => {
        const { device, subscription } = browser();
        sandbox.webpush.script(subscription.id, { status });
        const res = await notify([device]);
        assert.equal(res.status, 502);
        assert.equal(
          ((await res.json()) as { error: string }).error,
          `push provider failure: the app's credentials were refused or cannot be used (the provider answered ${status}); the gateway's log says how to fix them`,
        );
        assert.equal(sandbox.webpush.requests, 1);
      });
    }
    for (const status of [400, 413]) {
      test(`${status}: neither rejected nor retried, 200, logged and counted`, async () => {
        const { device, subscription } = browser();
        sandbox.webpush.script(subscription.id, { status });
        assert.equal(await (await notify([device])).text(), '{"rejected": []}');
        assert.equal(sandbox.webpush.requests, 1);
        assert.ok(herald.logs.some((l) => l.msg === "WebPush push refused" && l.status === status));
      });
    }
    test("a redirect is not followed: one request, neither rejected nor retried", async () => {
      const { device, subscription } = browser();
      sandbox.webpush.script(subscription.id, { status: 307 });
      assert.equal(await (await notify([device])).text(), '{"rejected": []}');
      assert.equal(sandbox.webpush.requests, 1);
    });
    test("429 and 5xx are retried, then delivered", async () => {
      const { device, subscription } = browser();
      sandbox.webpush.script(subscription.id, { status: 503 }, { status: 429, retryAfter: 0 }, { status: 201 });
      assert.equal(await (await notify([device])).text(), '{"rejected": []}');
      assert.equal(sandbox.webpush.requests, 3);
    });
    test("5xx every time: 502, never rejected", async () => {
      const { device, subscription } = browser();
      sandbox.webpush.script(subscription.id, { status: 500 });
      assert.equal((await notify([device])).status, 502);
    });
    test("a push service whose name does not resolve is a network failure: retried, then 502, never rejected", async () => {
      // The machine's own resolver, asked for a name under `.invalid`, which never resolves (RFC 6761): the lookup
      // fails as a push service's would while its DNS is down, and allowed_endpoints lets the guard ask for it.
      const { device } = browser();
      const endpoint = "https://push.herald-test.invalid/subscription/1";
      const res = await notify([{ ...device, app_id: UNRESOLVABLE, data: { ...device.data, endpoint } }]);
      assert.equal(res.status, 502);
      // What went wrong, not where: the endpoint's host is in the log only.
      assert.equal(
        ((await res.json()) as { error: string }).error,
        "push provider failure: the provider could not be reached, or did not answer",
      );
      const retries = herald.logs.filter(
        (l) => l.msg === "Temporary failure, will retry" && /push\.herald-test\.invalid/.test(String(l.reason)),
      );
      assert.deepEqual(
        retries.map((l) => l.attempt),
        [1, 2],
      );
    });
  });

  test("an endpoint outside allowed_endpoints is not sent to, and not rejected", async () => {
    const { device } = browser();
    const res = await notify([{ ...device, data: { ...device.data, endpoint: "https://push.example.com/x" } }]);
    assert.equal(await res.text(), '{"rejected": []}');
    assert.equal(sandbox.webpush.requests, 0);
  });

  test("a loopback push service listed in allowed_endpoints but not in allow_private_addresses is refused (SSRF), not rejected, and counted", async () => {
    const { device } = browser();
    const res = await notify([{ ...device, app_id: "com.example.web.not-opted-in" }]);
    assert.equal(await res.text(), '{"rejected": []}');
    assert.equal(sandbox.webpush.requests, 0);
    const text = await (await fetch(`${herald.metricsUrl}/metrics`)).text();
    assert.match(text, /^herald_webpush_refused_endpoints_total\{pushkin="com\.example\.web\.not-opted-in"\} [1-9]/m);
    const refusal = herald.logs.find(
      (l) => l.msg === "WebPush endpoint refused; not sent" && l.pushkin === "com.example.web.not-opted-in",
    );
    assert.match(
      String(refusal?.reason),
      /the endpoint's host localhost resolves to .*loopback.*an address Herald does not push to/,
    );
  });

  test("an endpoint literal that leads to the metadata service, in any notation, is refused and not rejected", async () => {
    const { device } = browser();
    const endpoints = ["https://169.254.169.254/x", "https://[::ffff:a9fe:a9fe]/x", "https://2852039166/x"];
    const devices = endpoints.map((endpoint, i) => ({
      ...device,
      pushkey: `k${i}`,
      app_id: "com.example.web.any",
      data: { ...device.data, endpoint },
    }));
    const res = await notify(devices);
    assert.equal(await res.text(), '{"rejected": []}');
    assert.equal(sandbox.webpush.requests, 0);
  });

  test("a push service that cannot be reached: 502, and the answer does not say at which address", async () => {
    const { device } = browser();
    const endpoint = `https://localhost:${await closedPort()}/push/1`;
    const res = await herald.notify({
      notification: {
        ...FULL.notification,
        devices: [{ ...device, app_id: "com.example.web.loopback", data: { ...device.data, endpoint } }],
      },
    });
    assert.equal(res.status, 502);
    const body = await res.text();
    assert.match(body, /the provider could not be reached/);
    assert.doesNotMatch(body, /127\.0\.0\.1|::1|localhost|ECONNREFUSED/);
    // The log names the host, never the address it resolved to.
    const logged = herald.logs.map((l) => JSON.stringify(l)).filter((l) => /ECONNREFUSED/.test(l));
    assert.ok(logged.some((l) => /cannot reach localhost:\d+: connect ECONNREFUSED/.test(l)));
  });

  test("Sygnal's WebPush metrics and the status codes move", async () => {
    await notify([browser().device]);
    const text = await (await fetch(`${herald.metricsUrl}/metrics`)).text();
    assert.match(
      text,
      /^herald_webpush_status_codes_total\{pushkin="org\.example\.herald\.demo\.web",code="201"\} [1-9]/m,
    );
    assert.match(text, /^sygnal_webpush_request_time_count [1-9]/m);
    assert.match(text, /^sygnal_webpush_queue_time_count [1-9]/m);
    assert.match(text, /^sygnal_pending_webpush_requests 0$/m);
    assert.match(text, /^sygnal_active_webpush_requests 0$/m);
  });
});

describe("WebPush pushkin: plain http, and the outbound proxy", () => {
  let sandbox: Sandbox;
  /** A push service at an http:// URL, on loopback. */
  let plain: WebPushSandbox;
  let proxy: ConnectProxy;
  let direct: TestHerald;
  let proxied: TestHerald;
  const HTTP = "com.example.web.http";
  /** Any host on loopback, https only. */
  const HTTPS_ONLY = "com.example.web.https-only";
  const deviceOf = (appId: string, subscription: { endpoint: string; keys: { p256dh: string; auth: string } }) => ({
    app_id: appId,
    pushkey: subscription.keys.p256dh,
    data: { endpoint: subscription.endpoint, auth: subscription.keys.auth },
  });
  const notifyThrough = (herald: TestHerald, device: unknown) =>
    herald.notify({ notification: { ...FULL.notification, devices: [device] } });

  before(async () => {
    sandbox = await startSandbox();
    plain = await WebPushSandbox.start({ ca: sandbox.ca, plain: true });
    proxy = await startConnectProxy();
    const app = sandbox.apps()[WEB]!;
    const apps = {
      [WEB]: app,
      [HTTP]: { ...app, allowed_endpoints: undefined, allow_http: true },
      [HTTPS_ONLY]: { ...app, allowed_endpoints: undefined },
    };
    direct = await startTestHerald({ request_deadline: 5, apps });
    proxied = await startTestHerald({ request_deadline: 5, proxy: proxy.url, apps });
  });
  after(async () => {
    await Promise.all([direct.stop(), proxied.stop()]);
    await Promise.all([sandbox.close(), plain.close(), proxy.close()]);
  });
  afterEach(() => {
    sandbox.webpush.reset();
    plain.reset();
    proxy.tunnels.length = 0;
  });

  test("plain http is refused, not rejected, unless the app sets allow_http; then delivered", async () => {
    const subscription = plain.createSubscription();
    assert.equal(await (await notifyThrough(direct, deviceOf(HTTPS_ONLY, subscription))).text(), '{"rejected": []}');
    assert.equal(plain.requests, 0);
    assert.ok(direct.logs.some((l) => /http, not https \(allow_http is off\)/.test(String(l.reason))));

    assert.equal(await (await notifyThrough(direct, deviceOf(HTTP, subscription))).text(), '{"rejected": []}');
    assert.deepEqual(plain.received[0]?.payload, FULL.webpush_plaintext_payload);
    assert.equal(plain.received[0]?.vapid.aud, plain.url);
  });

  test("with a proxy, an https endpoint goes through it, to the address the guard checked", async () => {
    const subscription = sandbox.webpush.createSubscription();
    assert.equal(await (await notifyThrough(proxied, deviceOf(WEB, subscription))).text(), '{"rejected": []}');
    assert.equal(sandbox.webpush.received.length, 1);
    // The endpoint names localhost; the tunnel is to the address it resolved to, so the proxy cannot resolve again.
    assert.deepEqual(proxy.tunnels, [
      { target: `127.0.0.1:${new URL(sandbox.webpush.url).port}`, authorization: undefined },
    ]);
  });

  test("with a proxy, a plain http endpoint goes through it too", async () => {
    const subscription = plain.createSubscription();
    assert.equal(await (await notifyThrough(proxied, deviceOf(HTTP, subscription))).text(), '{"rejected": []}');
    assert.equal(plain.received.length, 1);
    assert.deepEqual(proxy.tunnels, [{ target: `127.0.0.1:${new URL(plain.url).port}`, authorization: undefined }]);
  });

  test("with a proxy, a refused endpoint is refused all the same: no tunnel is asked for", async () => {
    const subscription = sandbox.webpush.createSubscription();
    for (const endpoint of ["https://169.254.169.254/latest/meta-data", "https://[fd00:ec2::254]/"]) {
      const device = { ...deviceOf(HTTPS_ONLY, subscription), data: { endpoint, auth: subscription.keys.auth } };
      assert.equal(await (await notifyThrough(proxied, device)).text(), '{"rejected": []}');
    }
    assert.deepEqual(proxy.tunnels, []);
  });

  test("a proxy that refuses the tunnel: 502 naming the endpoint's host, not the address", async () => {
    const strict = await startConnectProxy({ requireAuth: "user:secret" });
    const herald = await startTestHerald({
      request_deadline: 1,
      proxy: strict.url,
      apps: { [WEB]: sandbox.apps()[WEB]! },
    });
    try {
      const res = await notifyThrough(herald, deviceOf(WEB, sandbox.webpush.createSubscription()));
      assert.equal(res.status, 502);
      const body = await res.text();
      assert.match(body, /the outbound proxy refused the tunnel to the provider \(407\)/);
      assert.doesNotMatch(body, /localhost|127\.0\.0\.1/);
      const logged = herald.logs.map((l) => JSON.stringify(l));
      assert.ok(
        logged.some((l) => /CONNECT localhost:\d+ answered 'HTTP\/1.1 407/.test(l)),
        "the log names the host",
      );
      assert.ok(!logged.some((l) => /CONNECT 127\.0\.0\.1/.test(l)), "never the address");
    } finally {
      await herald.stop();
      await strict.close();
    }
  });
});

describe("WebPush pushkin, under constraints", () => {
  test("a missing VAPID key or a wrong allow_private_addresses stops start-up; an unusable key file fails only its app", async () => {
    const sandbox = await startSandbox();
    try {
      const app = sandbox.apps()[WEB]!;
      await assert.rejects(
        startTestHerald({ apps: { [WEB]: { ...app, vapid_private_key: undefined } } }),
        /'vapid_private_key' not set in config/,
      );
      await assert.rejects(
        startTestHerald({ apps: { [WEB]: { ...app, vapid_contact_email: undefined } } }),
        /'vapid_contact_email' not set in config/,
      );
      await assert.rejects(
        startTestHerald({ apps: { [WEB]: { ...app, allow_private_addresses: ["127.0.0.1", "localhost"] } } }),
        /allow_private_addresses\[1\]: 'localhost' is neither an IP address nor a network such as 10\.0\.0\.0\/8/,
      );
      // A broken key file does not stop the other apps: this app answers 502, naming the file.
      for (const [key, message] of [
        ["/nonexistent.pem", /does not exist/],
        [sandbox.files.serviceAccount, /invalid 'vapid_private_key' file/],
      ] as const) {
        const herald = await startTestHerald({ apps: { [WEB]: { ...app, vapid_private_key: key } } });
        try {
          const res = await herald.notify({ notification: { devices: [{ app_id: WEB, pushkey: "k" }] } });
          assert.equal(res.status, 502);
          const { error } = (await res.json()) as { error: string };
          assert.match(error, /the app's credentials were refused or cannot be used/);
          assert.doesNotMatch(error, /\.pem|\.json/, "the file stays in the log");
          assert.ok(
            herald.logs.some((l) => message.test(String(l.msg))),
            "the log names the file",
          );
        } finally {
          await herald.stop();
        }
      }
    } finally {
      await sandbox.close();
    }
  });
});
