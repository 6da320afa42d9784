/**
 * The circuit breaker: its states on a fake clock, and a pushkin's breaker over real HTTP with the test pushkin
 * (opening after a run of transient failures, failing fast with Retry-After, the probe, other pushkins unaffected).
 */
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { CircuitBreaker, type CircuitState } from "../src/core/circuitBreaker.js";
import { calls, resetCalls } from "./helpers/testPushkin.js";
import { device, notification, startTestHerald, testApp, type TestHerald } from "./helpers/herald.js";
import { waitFor } from "./helpers/waitFor.js";

function breaker(threshold = 3, coolDownMs = 1000) {
  const clock = { ms: 0 };
  const changes: CircuitState[] = [];
  const b = new CircuitBreaker({
    failureThreshold: threshold,
    coolDownMs,
    now: () => clock.ms,
    onChange: (state) => changes.push(state),
  });
  return { b, clock, changes };
}

function call(b: CircuitBreaker, result: "answered" | "transient-failure" | "not-sent") {
  const pass = b.pass();
  assert.ok(pass.allowed, "the call is let through");
  pass.done(result);
}

describe("CircuitBreaker", () => {
  test("opens after failureThreshold transient failures in a row, and refuses until the cool-down ends", () => {
    const { b, clock, changes } = breaker(3, 1000);
    call(b, "transient-failure");
    call(b, "transient-failure");
    assert.equal(b.current, "closed");
    call(b, "transient-failure");
    assert.equal(b.current, "open");
    clock.ms = 400;
    const refused = b.pass();
    assert.deepEqual(refused, { allowed: false, retryAfterMs: 600 });
    assert.deepEqual(changes, ["open"]);
  });
  test("an answer in between starts the count again; a push that was not sent changes nothing", () => {
    const { b } = breaker(3);
    call(b, "transient-failure");
    call(b, "transient-failure");
    call(b, "answered");
    call(b, "transient-failure");
    call(b, "not-sent");
    call(b, "transient-failure");
    assert.equal(b.current, "closed");
    call(b, "transient-failure");
    assert.equal(b.current, "open");
  });
  test("after the cool-down one probe at a time goes through; its answer closes the circuit", () => {
    const { b, clock, changes } = breaker(1, 1000);
    call(b, "transient-failure");
    clock.ms = 1000;
    const probe = b.pass();
    assert.ok(probe.allowed);
    assert.equal(b.current, "half-open");
    assert.equal(b.pass().allowed, false, "a second push waits for the probe's outcome");
    probe.done("answered");
    assert.equal(b.current, "closed");
    assert.equal(b.pass().allowed, true);
    assert.deepEqual(changes, ["open", "half-open", "closed"]);
  });
  test("a probe that fails opens the circuit for another cool-down", () => {
    const { b, clock } = breaker(1, 1000);
    call(b, "transient-failure");
    clock.ms = 1500;
    const probe = b.pass();
    assert.ok(probe.allowed);
    probe.done("transient-failure");
    assert.equal(b.current, "open");
    const refused = b.pass();
    assert.ok(!refused.allowed);
    assert.equal(refused.retryAfterMs, 1000);
  });
  test("a probe that sent nothing lets the next push probe", () => {
    const { b, clock } = breaker(1, 1000);
    call(b, "transient-failure");
    clock.ms = 1000;
    const probe = b.pass();
    assert.ok(probe.allowed);
    probe.done("not-sent");
    assert.equal(b.current, "half-open");
    assert.equal(b.pass().allowed, true);
  });
  test("a push's outcome counts once, however often it is reported", () => {
    const { b } = breaker(2);
    const pass = b.pass();
    assert.ok(pass.allowed);
    pass.done("transient-failure");
    pass.done("transient-failure");
    assert.equal(b.current, "closed");
  });
});

describe("a pushkin's circuit breaker over HTTP", () => {
  let herald: TestHerald | undefined;
  afterEach(async () => {
    await herald?.stop();
    herald = undefined;
    resetCalls();
  });

  async function start(extra: Record<string, unknown> = {}) {
    herald = await startTestHerald({
      metrics: { prometheus: { enabled: true, address: "127.0.0.1", port: 0 } },
      request_deadline: 2,
      circuit_breaker: { failure_threshold: 3, cool_down: 0.4 },
      apps: { "com.example.flaky": testApp(), "com.example.other": testApp() },
      ...extra,
    });
    return herald;
  }
  const flaky = (pushkey: string) => device(pushkey, "com.example.flaky");

  test("after a run of transient failures, pushes fail at once with 502 and Retry-After, not sent", async () => {
    const h = await start();
    for (let i = 0; i < 3; i++)
      assert.equal((await h.notify(notification([flaky("temporary_remote_error")]))).status, 502);
    resetCalls();

    const res = await h.notify(notification([flaky("accept")]));
    assert.equal(res.status, 502);
    assert.equal(res.headers.get("retry-after"), "1");
    const body = (await res.json()) as { error: string };
    assert.match(body.error, /circuit breaker is open/);
    assert.equal(calls.length, 0, "nothing reached the provider");
    assert.ok(h.logs.some((l) => l.msg?.toString().includes("circuit open") && l.pushkin === "com.example.flaky"));
    const metrics = await (await fetch(`${h.metricsUrl}/metrics`)).text();
    assert.match(metrics, /herald_circuit_breaker_state\{pushkin="com.example.flaky"\} 1/);
    assert.match(metrics, /herald_circuit_breaker_short_circuits_total\{pushkin="com.example.flaky"\} 1/);
    assert.match(metrics, /herald_circuit_breaker_state\{pushkin="com.example.other"\} 0/);
  });

  test("other pushkins are not affected: their devices are delivered in the same request", async () => {
    const h = await start();
    for (let i = 0; i < 3; i++) await h.notify(notification([flaky("temporary_remote_error")]));
    resetCalls();
    const res = await h.notify(notification([device("accept", "com.example.other")]));
    assert.equal(res.status, 200);
    assert.deepEqual(
      calls.map((c) => c.pushkin),
      ["com.example.other"],
    );
  });

  test("after the cool-down a probe goes through, and its success closes the circuit", async () => {
    const h = await start();
    for (let i = 0; i < 3; i++) await h.notify(notification([flaky("temporary_remote_error")]));
    resetCalls();
    // Until the cool-down ends, each request is answered at once without reaching the provider.
    await waitFor("the cool-down's end", async () => (await h.notify(notification([flaky("accept")]))).status === 200, {
      intervalMs: 50,
    });
    assert.equal((await h.notify(notification([flaky("accept-again")]))).status, 200);
    assert.equal(calls.length, 2, "only the probe and the request after it reached the provider");
    const metrics = await (await fetch(`${h.metricsUrl}/metrics`)).text();
    assert.match(metrics, /herald_circuit_breaker_state\{pushkin="com.example.flaky"\} 0/);
  });

  test("a provider that hangs opens the circuit too: later requests fail at once instead of after the deadline", async () => {
    const h = await start({ request_deadline: 0.2 });
    for (let i = 0; i < 3; i++) assert.equal((await h.notify(notification([flaky("hang")]))).status, 502);
    resetCalls();
    const res = await h.notify(notification([flaky("hang")]));
    assert.equal(res.status, 502);
    assert.match(((await res.json()) as { error: string }).error, /circuit breaker is open/);
    assert.equal(calls.length, 0, "not handed to the pushkin, so not held until the deadline");
  });

  test("permanent failures (refused credentials, configuration) do not open it", async () => {
    const h = await start();
    for (let i = 0; i < 5; i++) await h.notify(notification([flaky("remote_error")]));
    resetCalls();
    assert.equal((await h.notify(notification([flaky("accept")]))).status, 200);
    assert.equal(calls.length, 1);
  });

  test("an app may set its own threshold, or turn it off", async () => {
    const h = await start({
      apps: {
        "com.example.flaky": testApp({ circuit_breaker: { enabled: false } }),
        "com.example.other": testApp({ circuit_breaker: { failure_threshold: 1 } }),
      },
    });
    for (let i = 0; i < 4; i++) await h.notify(notification([flaky("temporary_remote_error")]));
    await h.notify(notification([device("temporary_remote_error", "com.example.other")]));
    resetCalls();
    await h.notify(notification([flaky("accept"), device("accept", "com.example.other")]));
    assert.deepEqual(
      calls.map((c) => c.pushkin),
      ["com.example.flaky"],
      "the flaky app has no breaker; the other's opened after one failure",
    );
  });
});
