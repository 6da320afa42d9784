/**
 * Isolation by what the device chose (core/deviceOrigins.ts): the per-origin map on a fake clock (its bound, its
 * gauge, the evidence against the app's credentials), then the dispatcher's generic rules over HTTP with the test
 * pushkin whose devices choose their origin. WebPush over real sockets is in test/webpush/isolation.test.ts.
 */
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { DeviceOrigins, REFUSING_ORIGINS } from "../src/core/deviceOrigins.js";
import { CredentialFailure, PermanentFailure, TemporaryFailure } from "../src/core/pushkin.js";
import { createLogger } from "../src/observability/logger.js";
import { GatewayMetrics } from "../src/observability/metrics.js";
import { calls, resetCalls } from "./helpers/testPushkin.js";
import { notification, startTestHerald, testApp, type TestHerald } from "./helpers/herald.js";

function origins(maxOrigins: number, coolDownMs = 1000) {
  const clock = { ms: 0 };
  const metrics = new GatewayMetrics({ processMetrics: false });
  const map = new DeviceOrigins({
    pushkin: "web",
    breaker: { enabled: true, failure_threshold: 1, cool_down: coolDownMs / 1000, max_origins: maxOrigins },
    metrics,
    log: createLogger("silent"),
    now: () => clock.ms,
  });
  const gauge = async () => {
    const text = await metrics.registry.metrics();
    return Number(/^herald_origin_circuit_breakers_open\{pushkin="web"\} (\d+)$/m.exec(text)?.[1]);
  };
  return { map, clock, metrics, gauge };
}

function push(map: DeviceOrigins, origin: string, result: "answered" | "transient-failure") {
  const pass = map.pass(origin);
  assert.ok(pass?.allowed, `a push to ${origin} is let through`);
  pass.done(result);
}

const refused = () => new CredentialFailure("refused", { fix: "use the right key" });

describe("the per-origin circuits", () => {
  test("stay within max_origins however many origins are invented; a forgotten origin starts closed", async () => {
    const { map, gauge } = origins(3);
    push(map, "https://failing.example", "transient-failure");
    assert.equal(map.pass("https://failing.example")?.allowed, false, "its circuit is open");
    assert.equal(await gauge(), 1);

    for (let i = 0; i < 1000; i++) push(map, `https://invented-${i}.example`, "answered");
    assert.equal(map.size, 3);
    assert.equal(await gauge(), 0);
    assert.equal(map.pass("https://failing.example")?.allowed, true, "forgotten, it starts closed");
  });

  test("the origins used most recently are the ones kept", () => {
    const { map } = origins(2);
    push(map, "https://busy.example", "transient-failure");
    push(map, "https://a.example", "answered");
    assert.equal(map.pass("https://busy.example")?.allowed, false, "used again: now the most recent");
    push(map, "https://b.example", "answered");
    assert.equal(map.pass("https://busy.example")?.allowed, false, "a.example went first");
  });

  test("the gauge counts the circuits that refuse pushes now: not one whose cool-down is over", async () => {
    const { map, clock, gauge } = origins(10, 1000);
    push(map, "https://a.example", "transient-failure");
    push(map, "https://b.example", "transient-failure");
    push(map, "https://c.example", "answered");
    assert.equal(await gauge(), 2);
    clock.ms = 1000;
    assert.equal(await gauge(), 0, "their cool-down is over: the next push to each is a probe");
    const probe = map.pass("https://a.example");
    assert.ok(probe?.allowed);
    assert.equal(await gauge(), 1, "a half-open circuit with its probe out refuses others");
    probe.done("answered");
    assert.equal(await gauge(), 0);
  });

  test("origins with very long names are kept by digest, so the bound holds on memory too", () => {
    const { map } = origins(2);
    const long = `https://${"a".repeat(100_000)}.example`;
    push(map, long, "transient-failure");
    assert.equal(map.pass(`${long}x`)?.allowed, true, "another origin, even with the same beginning");
    assert.equal(map.pass(long)?.allowed, false);
  });

  test(`the app's credentials are doubted after ${REFUSING_ORIGINS} distinct origins refuse, with no delivery between`, () => {
    const { map } = origins(10);
    assert.equal(map.failed("https://a.example", refused()), undefined);
    assert.equal(map.failed("https://a.example", refused()), undefined, "the same origin again is no more evidence");
    assert.equal(map.failed("https://b.example", new TemporaryFailure("503")), undefined, "only refusals count");
    assert.equal(map.failed("https://b.example", new PermanentFailure("400")), undefined);
    assert.equal(map.failed("https://b.example", refused()), undefined);
    const evidence = map.failed("https://c.example", refused());
    assert.ok(evidence instanceof CredentialFailure);
    assert.match(
      evidence.message,
      /3 push services \(https:\/\/a\.example, https:\/\/b\.example, https:\/\/c\.example\)/,
    );
    assert.equal(evidence.fix, "use the right key");

    map.delivered();
    assert.equal(map.failed("https://d.example", refused()), undefined, "a delivery clears the evidence");
    assert.equal(map.failed("https://e.example", refused()), undefined);
  });

  test("with circuit breakers off, no origin is remembered; refusals are still weighed", () => {
    const metrics = new GatewayMetrics({ processMetrics: false });
    const map = new DeviceOrigins({
      pushkin: "web",
      breaker: { enabled: false, failure_threshold: 1, cool_down: 1, max_origins: 10 },
      metrics,
      log: createLogger("silent"),
    });
    assert.equal(map.pass("https://a.example"), undefined);
    assert.equal(map.size, 0);
    for (const origin of ["https://a.example", "https://b.example"]) map.failed(origin, refused());
    assert.ok(map.failed("https://c.example", refused()));
  });
});

describe("a pushkin whose devices choose their origin, over HTTP", () => {
  const APP = "com.example.chosen";
  let herald: TestHerald | undefined;
  afterEach(async () => {
    await herald?.stop();
    herald = undefined;
    resetCalls();
  });
  const at = (origin: string, pushkey: string) => ({ app_id: APP, pushkey, data: { origin } });
  const metricsText = async () => (await fetch(`${herald!.metricsUrl}/metrics`)).text();

  async function start() {
    herald = await startTestHerald({
      metrics: { prometheus: { enabled: true, address: "127.0.0.1", port: 0 } },
      circuit_breaker: { failure_threshold: 2, cool_down: 30 },
      apps: { [APP]: testApp({ device_origins: true }) },
    });
    return herald;
  }

  test("an origin's failures open its circuit only: other origins' devices are sent, in the same request too", async () => {
    const h = await start();
    for (let i = 0; i < 2; i++)
      assert.equal((await h.notify(notification([at("https://bad.example", "temporary_remote_error")]))).status, 502);
    resetCalls();

    const res = await h.notify(
      notification([at("https://bad.example", "accept-1"), at("https://good.example", "accept-2")], {
        event_id: "$mixed",
      }),
    );
    assert.equal(res.status, 502, "the homeserver retries the device that failed");
    assert.match(((await res.json()) as { error: string }).error, /the device's push service keeps failing/);
    assert.deepEqual(
      calls.map((c) => c.pushkey),
      ["accept-2"],
      "the other origin's device was sent; the failing origin's was not handed to the pushkin",
    );
    const metrics = await metricsText();
    assert.match(metrics, new RegExp(`^herald_origin_circuit_breakers_open\\{pushkin="${APP}"\\} 1$`, "m"));
    assert.match(
      metrics,
      new RegExp(`^herald_origin_circuit_breaker_short_circuits_total\\{pushkin="${APP}"\\} 1$`, "m"),
    );
    assert.match(metrics, new RegExp(`^herald_origin_failures_total\\{pushkin="${APP}",kind="transient"\\} 2$`, "m"));
    assert.doesNotMatch(metrics, /herald_circuit_breaker_state\{pushkin="com.example.chosen"\}/, "no app-wide circuit");
    assert.ok(h.logs.some((l) => l.msg === "Dispatch failed" && l.origin === "https://bad.example"));
  });

  test("one origin refusing the credentials leaves the app's credentials trusted; a fault of the app's own key does not", async () => {
    const h = await start();
    for (let i = 0; i < 5; i++)
      assert.equal((await h.notify(notification([at("https://hostile.example", "credentials_refused")]))).status, 502);
    let metrics = await metricsText();
    assert.match(metrics, new RegExp(`^herald_credentials_ok\\{pushkin="${APP}"\\} 1$`, "m"));
    assert.match(metrics, new RegExp(`^herald_credential_failures_total\\{pushkin="${APP}"\\} 0$`, "m"));
    assert.match(metrics, new RegExp(`^herald_origin_failures_total\\{pushkin="${APP}",kind="credentials"\\} 5$`, "m"));

    const res = await h.notify(notification([at("https://good.example", "app_key_broken")]));
    assert.equal(res.status, 502);
    metrics = await metricsText();
    assert.match(metrics, new RegExp(`^herald_credentials_ok\\{pushkin="${APP}"\\} 0$`, "m"));
    assert.match(metrics, new RegExp(`^herald_credential_failures_total\\{pushkin="${APP}"\\} 1$`, "m"));
    const logged = h.logs.filter((l) => l.level === 50 && String(l.msg).includes("credentials"));
    assert.equal(logged.length, 1);
    assert.match(String(logged[0]!.msg), /the app's key is broken/);
  });
});
