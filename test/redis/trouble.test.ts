/**
 * Redis trouble never fails or holds a push: a Redis that is not there at start, one that accepts connections and
 * never answers, and one that goes silent once connected. Each time the push is answered (within a bound), delivered,
 * and remembered by the process itself; shutdown still ends within its bound.
 */
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe } from "node:test";
import { notification, startTestHerald, testApp, type TestHerald } from "../helpers/herald.js";
import { closedPort } from "../helpers/ports.js";
import { redis, unless } from "../helpers/services.js";
import { startTcpRelay, type TcpRelay } from "../helpers/tcpRelay.js";
import { calls, resetCalls } from "../helpers/testPushkin.js";
import { waitFor, within } from "../helpers/waitFor.js";
import { atPort, logged, metric, removeKeys, uniquePrefix, UNUSABLE } from "./redisFixture.js";

const service = await redis();
const { test } = unless(service.missing);

const APP = "com.example.spqr";
const EVENT = { event_id: "$event:example.com", room_id: "!room:example.com" };
const accept = notification([{ app_id: APP, pushkey: "accept" }], EVENT);

let herald: TestHerald | undefined;
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  await herald?.stop();
  herald = undefined;
  for (const step of cleanup) await step();
  cleanup = [];
  resetCalls();
});

function start(redisSection: Record<string, unknown>): Promise<TestHerald> {
  return startTestHerald({ apps: { [APP]: testApp() }, redis: redisSection });
}

/** A TCP listener that accepts every connection and never sends a byte. */
async function silentListener(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe("Redis unavailable at start", () => {
  test("Herald starts, pushes, says so once without the password, and remembers on its own", async () => {
    const port = await closedPort();
    herald = await start({ url: `redis://:s3cret-word@127.0.0.1:${port}/0` });
    for (let i = 0; i < 3; i++) {
      const answer = await herald.notify(accept);
      assert.equal(answer.status, 200);
      assert.equal(await answer.text(), '{"rejected": []}');
    }
    assert.equal(calls.length, 1, "the retries were suppressed by the process's own memory");
    assert.equal(await metric(herald, "herald_shared_state_ok"), 0);
    const warnings = logged(herald, UNUSABLE);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.redis, `redis://:***@127.0.0.1:${port}/0`);
    assert.match(String(warnings[0]!.reason), /ECONNREFUSED/);
    assert.ok(!JSON.stringify(herald.logs).includes("s3cret-word"));
    assert.ok((await metric(herald, "herald_shared_state_failures_total", { operation: "connect" }))! >= 1);
    assert.equal(await metric(herald, "herald_shared_state_failures_total", { operation: "recall" }), 3);
  });
});

describe("a Redis that hangs", () => {
  test("one that accepts connections and never answers: the push is answered at once, and shutdown ends", async () => {
    const listener = await silentListener();
    cleanup.push(() => listener.close());
    herald = await start({ url: `redis://127.0.0.1:${listener.port}` });
    const answer = await within("a push while Redis never answers", herald.notify(accept), 5000);
    assert.equal(answer.status, 200);
    assert.equal(calls.length, 1);
    assert.equal(await metric(herald, "herald_shared_state_ok"), 0);
    const stopping = herald.stop();
    herald = undefined;
    await within("shutdown while Redis never answers", stopping, 5000);
  });

  test("one that goes silent once connected: a push waits no longer than recall_timeout, and shutdown ends", async () => {
    const prefix = uniquePrefix();
    const target = new URL(service.url!);
    const relay: TcpRelay = await startTcpRelay(Number(target.port || 6379), target.hostname);
    cleanup.push(
      () => relay.close(),
      () => removeKeys(service.url!, prefix),
    );
    // Commands would wait a minute for their answer: only recall_timeout can answer the push in time.
    herald = await start({ url: atPort(service.url!, relay.port), key_prefix: prefix, command_timeout: 60 });
    assert.equal(await metric(herald, "herald_shared_state_ok"), 1);
    for (const connection of relay.connections) connection.silence();
    const answer = await within("a push while Redis is silent", herald.notify(accept), 5000);
    assert.equal(answer.status, 200);
    assert.equal(calls.length, 1);
    await waitFor("the timed-out recall to be counted", async () =>
      metric(herald!, "herald_shared_state_failures_total", { operation: "recall" }),
    );
    assert.equal(await metric(herald, "herald_shared_state_ok"), 0);
    assert.equal(logged(herald, UNUSABLE).length, 1);
    assert.match(String(logged(herald, UNUSABLE)[0]!.reason), /recall_timeout/);
    const stopping = herald.stop();
    herald = undefined;
    await within("shutdown while Redis is silent", stopping, 5000);
  });
});
