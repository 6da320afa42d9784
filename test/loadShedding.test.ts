/**
 * Load shedding over real HTTP: too many requests at once, a lagging event loop and a heap near its limit are each
 * answered 503 with Retry-After before the request is read; /health is never shed.
 */
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { calls, resetCalls } from "./helpers/testPushkin.js";
import { device, notification, rawRequest, startTestHerald, testApp, type TestHerald } from "./helpers/herald.js";
import { waitFor } from "./helpers/waitFor.js";

let herald: TestHerald | undefined;
afterEach(async () => {
  await herald?.stop();
  herald = undefined;
  resetCalls();
});

async function start(loadShedding: Record<string, unknown>): Promise<TestHerald> {
  herald = await startTestHerald({
    metrics: { prometheus: { enabled: true, address: "127.0.0.1", port: 0 } },
    load_shedding: loadShedding,
    apps: { "com.example.spqr": testApp() },
  });
  return herald;
}

describe("load shedding", () => {
  test("over max_concurrent_requests: 503 with Retry-After, nothing sent, the connection closed", async () => {
    const h = await start({ max_concurrent_requests: 1 });
    const first = h.notify(notification([device("slow:300")]));
    await waitFor("the first request at the pushkin", () => calls.length === 1);
    const second = await h.notify(notification([device("accept")]));
    assert.equal(second.status, 503);
    assert.equal(second.headers.get("retry-after"), "1");
    assert.equal(second.headers.get("connection"), "close");
    const body = (await second.json()) as { errcode: string; error: string };
    assert.equal(body.errcode, "M_UNAVAILABLE");
    assert.match(body.error, /overloaded \(concurrent requests\)/);
    assert.equal(calls.length, 1, "the shed request was not dispatched");
    assert.equal((await first).status, 200);

    const after = await h.notify(notification([device("accept")]));
    assert.equal(after.status, 200, "a slot is free again once the first request is answered");
    const metrics = await (await fetch(`${h.metricsUrl}/metrics`)).text();
    assert.match(metrics, /herald_load_shed_total\{reason="concurrent_requests",surface="notify"\} 1/);
  });

  test("/health is never shed", async () => {
    const h = await start({ max_concurrent_requests: 1 });
    const first = h.notify(notification([device("slow:300")]));
    await waitFor("the first request at the pushkin", () => calls.length === 1);
    assert.equal((await rawRequest(h.url, { method: "GET", path: "/health" })).status, 200);
    await first;
  });

  test("a heap used beyond max_heap_used sheds requests", async () => {
    // Any real heap is above a millionth of its limit; the sampler reads the heap every 100 ms, and until its first
    // reading requests are served.
    const h = await start({ max_heap_used: 0.000001 });
    const shed = await waitFor("the heap sampler's first reading to shed a request", async () => {
      const dispatched = calls.length;
      const res = await h.notify(notification([device("accept")]));
      return res.status === 503 && { res, dispatched: calls.length - dispatched };
    });
    assert.match(((await shed.res.json()) as { error: string }).error, /overloaded \(heap\)/);
    assert.equal(shed.dispatched, 0, "the shed request was not dispatched");
  });

  test("an event loop that lags beyond max_event_loop_delay sheds requests, and recovers", async () => {
    const h = await start({ max_event_loop_delay: 0.15 });
    // Herald runs in this process: block its event loop for 400 ms.
    const until = Date.now() + 400;
    while (Date.now() < until);
    const res = await h.notify(notification([device("accept")]));
    assert.equal(res.status, 503);
    assert.match(((await res.json()) as { error: string }).error, /overloaded \(event loop delay\)/);
    // The lag is remembered for a second, then requests are served again.
    await waitFor(
      "requests served again",
      async () => (await h.notify(notification([device("accept")]))).status === 200,
      { intervalMs: 100 },
    );
  });

  test("defaults shed nothing under ordinary use", async () => {
    const h = await start({});
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => h.notify(notification([device(`accept-${i}`)]))),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      Array(20).fill(200),
    );
  });
});
