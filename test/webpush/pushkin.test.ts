/**
 * The WebPush pushkin over real sockets against the sandbox push service, which checks VAPID and decrypts every
 * message: the plaintext, the headers, Sygnal's checks, each answer row, the SSRF guard, the deadline.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import { readVapidKeys } from "../../src/pushkins/webpush/settings.js";
import { SANDBOX_APPS, startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { startTestHerald, type TestHerald } from "../helpers/herald.js";
import { fixturesDir } from "../helpers/paths.js";

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
        "com.example.web.open": { ...sandbox.apps()[WEB]!, allowed_endpoints: undefined },
        "com.example.web.ttl": { ...sandbox.apps()[WEB]!, ttl: 60 },
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

  test("without allowed_endpoints, a loopback push service is refused (SSRF), not rejected, and counted", async () => {
    const { device } = browser();
    const res = await notify([{ ...device, app_id: "com.example.web.open" }]);
    assert.equal(await res.text(), '{"rejected": []}');
    assert.equal(sandbox.webpush.requests, 0);
    const text = await (await fetch(`${herald.metricsUrl}/metrics`)).text();
    assert.match(text, /^herald_webpush_refused_endpoints_total\{pushkin="com\.example\.web\.open"\} [1-9]/m);
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

describe("WebPush pushkin, under constraints", () => {
  test("a missing VAPID key stops start-up with Sygnal's messages; an unusable key file fails only its app", async () => {
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
