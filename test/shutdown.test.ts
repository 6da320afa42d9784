/** Graceful shutdown: stop accepting, 503 to late requests, finish what is in flight, close pushkins. */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, test } from "node:test";
import { calls, resetCalls } from "./helpers/testPushkin.js";
import { device, notification, startTestHerald, testApp } from "./helpers/herald.js";
import { waitFor } from "./helpers/waitFor.js";

describe("shutdown", () => {
  test("finishes the request in flight and refuses new connections", async () => {
    resetCalls();
    const herald = await startTestHerald({ apps: { "com.example.spqr": testApp() } });
    const inFlight = herald.notify(notification([device("slow:300")]));
    await waitFor("the request at the pushkin", () => calls.length > 0);

    const stopped = herald.stop();
    await assert.rejects(fetch(`${herald.url}/health`), "no new connections");
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '{"rejected": []}');
    await stopped;
  });

  test("answers 503 with Retry-After to a request that arrives on an open connection while draining", async () => {
    resetCalls();
    const herald = await startTestHerald({ apps: { "com.example.spqr": testApp() } });
    const { port } = herald.herald.addresses[0]!;
    const body = JSON.stringify(notification([device("slow:300")]));
    // The connection is busy with the first request when shutdown begins, so it stays open for the second.
    const socket = connect(port, "127.0.0.1");
    socket.write(
      `POST /_matrix/push/v1/notify HTTP/1.1\r\nHost: x\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    let received = "";
    socket.on("data", (d: Buffer) => (received += d.toString()));
    const closed = new Promise((resolve) => socket.on("close", resolve));
    await waitFor("the request at the pushkin", () => calls.length > 0);
    const stopped = herald.stop();
    socket.write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    await closed;
    await stopped;
    const [first, second] = received.split(/(?=HTTP\/1\.1 )/);
    assert.match(first ?? "", /^HTTP\/1\.1 200 /);
    assert.match(second ?? "", /^HTTP\/1\.1 503 /);
    assert.match(second ?? "", /\r\nRetry-After: 1\r\n/i);
    assert.match(second ?? "", /\r\nConnection: close\r\n/i);
  });

  test("does not wait past shutdown_timeout for a request that will not finish", async () => {
    resetCalls();
    const herald = await startTestHerald({
      shutdown_timeout: 0.1,
      request_deadline: 30,
      apps: { "com.example.spqr": testApp() },
    });
    const inFlight = herald.notify(notification([device("stubborn:2000")])).catch(() => "cut");
    await waitFor("the request at the pushkin", () => calls.length > 0);
    await herald.stop();
    assert.equal(await inFlight, "cut", "the connection was closed under it");
    assert.ok(herald.logs.some((l) => l.msg === "Shutdown timeout: closing connections with requests still in flight"));
  });
});
