/** The Prometheus listener: Sygnal's metric names, types and labels, moving by the right amounts. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { device, notification, startTestHerald, testApp, type TestHerald } from "./helpers/herald.js";
import { calls } from "./helpers/testPushkin.js";
import { waitFor } from "./helpers/waitFor.js";

/** The value of one sample of the exposition, 0 when absent. */
function sample(text: string, name: string, labels = ""): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ""} `));
  return line ? Number(line.split(" ").pop()) : 0;
}

describe("metrics", () => {
  let herald: TestHerald;
  const scrape = async (path = "/metrics") => (await fetch(`${herald.metricsUrl}${path}`)).text();

  before(async () => {
    herald = await startTestHerald({
      metrics: { prometheus: { enabled: true, address: "127.0.0.1", port: 0 } },
      apps: { "com.example.spqr": testApp({ inflight_request_limit: 1 }), "com.glob.*": testApp() },
    });
  });
  after(() => herald.stop());

  test("are served on every path of their own listener, with Sygnal's types", async () => {
    const res = await fetch(`${herald.metricsUrl}/any/path`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const [name, type] of [
      ["sygnal_notifications_received_total", "counter"],
      ["sygnal_notifications_devices_received_total", "counter"],
      ["sygnal_per_pushkin_type_total", "counter"],
      ["sygnal_pushgateway_status_codes_total", "counter"],
      ["sygnal_notify_time", "histogram"],
      ["sygnal_requests_in_flight", "gauge"],
      ["sygnal_inflight_request_limit_drop_total", "counter"],
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, "m"), name);
    }
    assert.match(text, /^process_resident_memory_bytes \d+/m, "process metrics");
    assert.match(text, /^nodejs_eventloop_lag_seconds /m, "runtime metrics");
  });

  test("are not served on the push listener", async () => {
    assert.equal((await fetch(`${herald.url}/metrics`)).status, 404);
  });

  test("the in-flight drop counter of every pushkin exists from the start", async () => {
    const text = await scrape();
    assert.match(text, /^sygnal_inflight_request_limit_drop_total\{pushkin="com\.example\.spqr"\} 0$/m);
    assert.match(text, /^sygnal_inflight_request_limit_drop_total\{pushkin="com\.glob\.\*"\} 0$/m);
  });

  test("move by the right amounts", async () => {
    const before = await scrape();
    // 1 notification, 3 devices: one to the glob app, one to an unknown app, one rejected
    await herald.notify(notification([device("accept", "com.glob.x"), device("k", "unknown"), device("reject")]));
    // a 400 that was parsed (counted as received) and one that was not
    await herald.notify({ notification: { devices: [] } });
    await herald.notify("not json");
    const after = await scrape();
    const delta = (name: string, labels = "") => sample(after, name, labels) - sample(before, name, labels);

    assert.equal(delta("sygnal_notifications_received_total"), 2);
    assert.equal(delta("sygnal_notifications_devices_received_total"), 3);
    assert.equal(delta("sygnal_per_pushkin_type_total", 'pushkin="com.glob.*"'), 1);
    assert.equal(delta("sygnal_per_pushkin_type_total", 'pushkin="com.example.spqr"'), 1);
    assert.equal(delta("sygnal_pushgateway_status_codes_total", 'code="200"'), 1);
    assert.equal(delta("sygnal_pushgateway_status_codes_total", 'code="400"'), 2);
    assert.equal(delta("sygnal_notify_time_count", 'code="200"'), 1);
    assert.equal(delta("sygnal_notify_time_count", 'code="400"'), 0, "only requests that reached dispatch are timed");
    assert.equal(delta("herald_device_outcomes_total", 'pushkin="com.example.spqr",outcome="rejected"'), 1);
    assert.equal(delta("herald_device_outcomes_total", 'pushkin="com.glob.*",outcome="delivered"'), 1);
    assert.equal(sample(after, "sygnal_requests_in_flight", 'resource="V1NotifyHandler"'), 0);
  });

  test("count in-flight drops, dead-token hits and suppressed duplicates", async () => {
    const before = await scrape();
    const slow = herald.notify(notification([device("slow:200")]));
    await waitFor("the slow request at the pushkin", () => calls.some((c) => c.pushkey === "slow:200" && !c.finished));
    assert.equal((await herald.notify(notification([device("accept")]))).status, 503);
    await slow;
    await herald.notify(notification([device("reject")])); // dead since the test above
    await herald.notify(notification([device("accept", "com.glob.y")], { event_id: "$e" }));
    await herald.notify(notification([device("accept", "com.glob.y")], { event_id: "$e" }));
    const after = await scrape();
    const delta = (name: string, labels = "") => sample(after, name, labels) - sample(before, name, labels);
    assert.equal(delta("sygnal_inflight_request_limit_drop_total", 'pushkin="com.example.spqr"'), 1);
    assert.equal(delta("sygnal_pushgateway_status_codes_total", 'code="503"'), 1);
    assert.equal(delta("herald_dead_token_cache_hits_total", 'pushkin="com.example.spqr"'), 1);
    assert.equal(delta("herald_duplicates_suppressed_total", 'pushkin="com.glob.*"'), 1);
  });
});
