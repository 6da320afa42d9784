/**
 * One WebPush subscription can never hurt the app's other users, over real sockets: each subscription chooses its push
 * service, so a push service that fails (unreachable, a name that does not resolve, 503, 403) has its own circuit and
 * its own refusals, while the app's other subscriptions are delivered and its credentials stay trusted. Three sandbox
 * push services give three origins; a closed loopback port, one that refuses connections.
 */
import assert from "node:assert/strict";
import { createECDH } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { SANDBOX_APPS, startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { WebPushSandbox } from "../../src/sandbox/webpush.js";
import { MESSAGE_EVENT, notification, startTestHerald, type TestHerald } from "../helpers/herald.js";
import { closedPort } from "../helpers/ports.js";
import { waitFor } from "../helpers/waitFor.js";

const WEB = SANDBOX_APPS.webpush;
const THRESHOLD = 3;
const UNRESOLVABLE_HOST = "push.herald-test.invalid";

describe("WebPush: one subscription's push service failing", () => {
  let sandbox: Sandbox;
  /** Two more push services, at origins of their own. */
  let failing: WebPushSandbox;
  let refusing: WebPushSandbox;
  let closed: number;
  let events = 0;

  before(async () => {
    sandbox = await startSandbox();
    failing = await WebPushSandbox.start({ ca: sandbox.ca });
    refusing = await WebPushSandbox.start({ ca: sandbox.ca });
    closed = await closedPort();
  });
  after(async () => {
    await Promise.all([failing.close(), refusing.close()]);
    await sandbox.close();
  });

  async function startHerald(circuitBreaker: Record<string, unknown>): Promise<TestHerald> {
    const app = sandbox.apps()[WEB]!;
    return startTestHerald({
      request_deadline: 5,
      metrics: { prometheus: { enabled: true, address: "127.0.0.1", port: 0 } },
      circuit_breaker: circuitBreaker,
      apps: {
        [WEB]: {
          ...app,
          // Loopback push services are allowed only when listed, as a private one would be in production.
          allowed_endpoints: [
            ...(app.allowed_endpoints as string[]),
            new URL(failing.url).host,
            new URL(refusing.url).host,
            `127.0.0.1:${closed}`,
            UNRESOLVABLE_HOST,
          ],
        },
      },
    });
  }

  /** A subscription of `service` as the device of a pusher; `endpoint` replaces its endpoint. */
  function browser(service: WebPushSandbox, options: { endpoint?: string; applicationServerKey?: string } = {}) {
    const subscription = service.createSubscription({ applicationServerKey: options.applicationServerKey });
    const endpoint = options.endpoint ?? subscription.endpoint;
    return {
      subscription,
      device: { app_id: WEB, pushkey: subscription.keys.p256dh, data: { endpoint, auth: subscription.keys.auth } },
    };
  }

  const notify = (herald: TestHerald, devices: unknown[], eventId = `$isolation-${++events}`) =>
    herald.notify(notification(devices, { event_id: eventId, ...MESSAGE_EVENT }));

  async function metric(herald: TestHerald, series: string): Promise<number | undefined> {
    const text = await (await fetch(`${herald.metricsUrl}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  }

  const credentialErrors = (herald: TestHerald) =>
    herald.logs.filter((l) => l.level === 50 && String(l.msg).includes("credentials"));

  test("unreachable, unresolvable, 503 and 403, far past the threshold: the app's other subscription is delivered every time, its credentials stay trusted", async () => {
    const herald = await startHerald({ failure_threshold: THRESHOLD, cool_down: 30 });
    try {
      const healthy = browser(sandbox.webpush);
      const unavailable = browser(failing);
      failing.script(unavailable.subscription.id, { status: 503, retryAfter: 0 });
      const refused = browser(refusing);
      refusing.script(refused.subscription.id, { status: 403 });
      const cases = [
        {
          what: "a connection refused",
          device: browser(sandbox.webpush, { endpoint: `https://127.0.0.1:${closed}/push/gone` }).device,
          opens: true,
        },
        {
          what: "a host name that does not resolve",
          device: browser(sandbox.webpush, { endpoint: `https://${UNRESOLVABLE_HOST}/push/x` }).device,
          opens: true,
        },
        { what: "503 every time", device: unavailable.device, opens: true, service: failing },
        { what: "403 every time", device: refused.device, opens: false, service: refusing },
      ];

      let delivered = 0;
      for (const { what, device, opens, service } of cases) {
        let reachedWhenOpen: number | undefined;
        for (let i = 0; i < 3 * THRESHOLD; i++) {
          const res = await notify(herald, [device]);
          const body = (await res.json()) as { rejected?: string[]; error?: string };
          assert.equal(res.status, 502, `${what}: answered ${res.status} ${JSON.stringify(body)}`);
          assert.equal(body.rejected, undefined, `${what}: never rejected`);
          if (opens && i >= THRESHOLD) {
            assert.match(
              String(body.error),
              /the device's push service keeps failing: its circuit breaker is open/,
              what,
            );
            reachedWhenOpen ??= service?.requests;
            assert.equal(service?.requests, reachedWhenOpen, `${what}: nothing reaches it while its circuit is open`);
          }

          const ok = await notify(herald, [healthy.device]);
          assert.equal(ok.status, 200, `${what}: the other subscription's push`);
          assert.equal(await ok.text(), '{"rejected": []}');
          delivered++;
        }
      }
      assert.equal(
        sandbox.webpush.received.filter((p) => p.subscriptionId === healthy.subscription.id).length,
        delivered,
        "every push of the other subscription was delivered",
      );

      // A push service that is refused by the SSRF guard is not sent to, and counts against nothing.
      const guarded = browser(sandbox.webpush, { endpoint: "https://push.example.com/not-allowed" });
      assert.equal(await (await notify(herald, [guarded.device])).text(), '{"rejected": []}');

      assert.equal(await metric(herald, `herald_credentials_ok{pushkin="${WEB}"}`), 1);
      assert.deepEqual(credentialErrors(herald), [], "no error line says the app's credentials do not work");
      assert.equal(await metric(herald, `herald_credential_failures_total{pushkin="${WEB}"}`), 0);
      assert.equal(await metric(herald, `herald_origin_failures_total{pushkin="${WEB}",kind="credentials"}`), 9);
      assert.equal(await metric(herald, `herald_origin_failures_total{pushkin="${WEB}",kind="transient"}`), 9);
      assert.equal(await metric(herald, `herald_origin_circuit_breakers_open{pushkin="${WEB}"}`), 3);
      assert.equal(await metric(herald, `herald_origin_circuit_breaker_short_circuits_total{pushkin="${WEB}"}`), 18);
      assert.equal(await metric(herald, `herald_circuit_breaker_state{pushkin="${WEB}"}`), undefined, "no app circuit");
      assert.equal(await metric(herald, `herald_circuit_breaker_short_circuits_total{pushkin="${WEB}"}`), undefined);
    } finally {
      await herald.stop();
    }
  });

  test("a request with a device at an open origin answers 502, and its other devices are delivered once", async () => {
    const herald = await startHerald({ failure_threshold: 1, cool_down: 30 });
    try {
      const gone = browser(sandbox.webpush, { endpoint: `https://127.0.0.1:${closed}/push/gone` });
      assert.equal((await notify(herald, [gone.device])).status, 502);

      const healthy = browser(sandbox.webpush);
      for (let retry = 0; retry < 2; retry++) {
        // The homeserver retries the 502 with the same event: the device already delivered is not pushed again.
        const res = await notify(herald, [gone.device, healthy.device], "$mixed");
        assert.equal(res.status, 502);
        assert.match(((await res.json()) as { error: string }).error, /circuit breaker is open/);
        assert.equal(sandbox.webpush.received.filter((p) => p.subscriptionId === healthy.subscription.id).length, 1);
      }
    } finally {
      await herald.stop();
    }
  });

  test("an origin's circuit fails all of its devices at once, and closes after the cool-down once it answers", async () => {
    const herald = await startHerald({ failure_threshold: 2, cool_down: 0.5 });
    try {
      const first = browser(failing);
      const second = browser(failing);
      failing.script(first.subscription.id, { status: 503, retryAfter: 0 });
      for (let i = 0; i < 2; i++) assert.equal((await notify(herald, [first.device])).status, 502);
      const reached = failing.requests;

      const res = await notify(herald, [second.device]);
      assert.equal(res.status, 502, "another subscription at the same push service fails at once too");
      assert.match(((await res.json()) as { error: string }).error, /circuit breaker is open/);
      assert.equal(failing.requests, reached);
      assert.equal(await metric(herald, `herald_origin_circuit_breakers_open{pushkin="${WEB}"}`), 1);
      assert.ok(
        herald.logs.some((l) => l.level === 40 && l.origin === failing.url && /circuit is open/.test(String(l.msg))),
      );

      failing.clearScripts();
      await waitFor(
        "the cool-down's end and a probe that is delivered",
        async () => (await notify(herald, [first.device])).status === 200,
        { intervalMs: 50 },
      );
      assert.equal((await notify(herald, [second.device])).status, 200);
      assert.equal(await metric(herald, `herald_origin_circuit_breakers_open{pushkin="${WEB}"}`), 0);
      assert.ok(herald.logs.some((l) => l.origin === failing.url && /circuit closed/.test(String(l.msg))));
    } finally {
      await herald.stop();
    }
  });

  test("a key the subscriptions were not made with is refused by every push service: three of them make the app's credentials doubted, a delivery trusted again", async () => {
    const herald = await startHerald({ failure_threshold: THRESHOLD, cool_down: 30 });
    try {
      const otherKey = createECDH("prime256v1").generateKeys().toString("base64url");
      const services = [sandbox.webpush, failing, refusing];
      for (const [i, service] of services.entries()) {
        const { device } = browser(service, { applicationServerKey: otherKey });
        for (let n = 0; n < 2; n++) assert.equal((await notify(herald, [device])).status, 502);
        const expected = i < services.length - 1 ? 1 : 0;
        assert.equal(await metric(herald, `herald_credentials_ok{pushkin="${WEB}"}`), expected, `after ${i + 1}`);
      }
      const logged = credentialErrors(herald);
      assert.equal(logged.length, 1, "said once");
      assert.equal(logged[0]!.pushkin, WEB);
      assert.match(String(logged[0]!.msg), /3 push services \(https:\/\/localhost:\d+, .*\) refused its credentials/);
      assert.match(String(logged[0]!.fix), /vapid_private_key is the key the web app subscribed with/);

      assert.equal((await notify(herald, [browser(sandbox.webpush).device])).status, 200);
      assert.equal(await metric(herald, `herald_credentials_ok{pushkin="${WEB}"}`), 1);
    } finally {
      await herald.stop();
    }
  });
});
