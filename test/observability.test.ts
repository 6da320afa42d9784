/** Logs: a request id on every line of a request, the access line, and pushkeys never whole. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { device, notification, startTestHerald, testApp, type TestHerald } from "./helpers/herald.js";

const LONG_PUSHKEY = "reject:" + "Z".repeat(150);

describe("logs", () => {
  let herald: TestHerald;
  before(async () => {
    herald = await startTestHerald({
      log: { access: { x_forwarded_for: true } },
      apps: { "com.example.spqr": testApp() },
    });
  });
  after(() => herald.stop());

  test("every line of a request carries its request id, the one answered in X-Request-Id", async () => {
    const res = await herald.notify(
      notification([device(LONG_PUSHKEY), device("remote_error"), device("k", "unknown")]),
    );
    const requestId = res.headers.get("x-request-id");
    const lines = herald.logs.filter((l) => l.request_id === requestId);
    assert.ok(lines.length >= 4, JSON.stringify(lines));
    assert.ok(lines.some((l) => l.msg === "Pushkey rejected"));
    assert.ok(lines.some((l) => l.msg === "Dispatch failed"));
    assert.ok(lines.some((l) => l.msg === "Got notification for unknown app ID"));
  });

  test("pushkeys appear only shortened", async () => {
    await herald.notify(notification([device(LONG_PUSHKEY), device("temporary_remote_error:" + "Y".repeat(100))]));
    const all = JSON.stringify(herald.logs);
    assert.ok(!all.includes("Z".repeat(20)), "no long run of the pushkey");
    assert.ok(!all.includes("Y".repeat(20)));
    const rejected = herald.logs.find((l) => l.msg === "Pushkey rejected" && String(l.pushkey).startsWith("reject"));
    assert.equal(rejected?.pushkey, "reject:Z…");
  });

  test("the access line says what Sygnal's does, with the client from X-Forwarded-For", async () => {
    const res = await fetch(`${herald.url}/_matrix/push/v1/notify?x=1`, {
      method: "POST",
      headers: { "X-Forwarded-For": "203.0.113.9, 198.51.100.7", "User-Agent": "Synapse/1.120", Referer: "r" },
      body: JSON.stringify(notification([device("accept")])),
    });
    const line = herald.logs.find(
      (l) => l.msg === "Handled request" && l.request_id === res.headers.get("x-request-id"),
    );
    assert.deepEqual(
      { ...line, duration_ms: undefined, time: undefined, pid: undefined, hostname: undefined },
      {
        level: 30,
        name: "herald",
        request_id: res.headers.get("x-request-id"),
        remote_addr: "198.51.100.7",
        method: "POST",
        path: "/_matrix/push/v1/notify?x=1",
        http_version: "1.1",
        status: 200,
        bytes: 16,
        referer: "r",
        user_agent: "Synapse/1.120",
        msg: "Handled request",
        duration_ms: undefined,
        time: undefined,
        pid: undefined,
        hostname: undefined,
      },
    );
  });

  test("/health is logged at debug", async () => {
    const res = await fetch(`${herald.url}/health`);
    const line = herald.logs.find((l) => l.request_id === res.headers.get("x-request-id"));
    assert.equal(line?.level, 20);
  });
});
