/**
 * Fairness at the HTTP edge, over real sockets: clients that trickle their bodies, hold connections or flood a public
 * surface cannot take what the homeservers' /notify needs. Attackers connect from 127.0.0.2 (Linux routes all of
 * 127/8 to the loopback), the homeserver from 127.0.0.1.
 */
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { after, afterEach, before, describe, test } from "node:test";
import type { ApnsSandbox } from "../src/sandbox/apns.js";
import { startSandbox, type Sandbox } from "../src/sandbox/index.js";
import { calls, resetCalls } from "./helpers/testPushkin.js";
import { device, notification, rawRequest, startTestHerald, testApp, type TestHerald } from "./helpers/herald.js";
import { answerOf, connectFrom, stalledRequest } from "./helpers/rawHttp.js";
import { waitFor, within } from "./helpers/waitFor.js";
import { pushRelaySection, startApnsEndpoints } from "./pushRelay/sandboxConfig.js";

const ATTACKER = "127.0.0.2";
const HOMESERVER = "127.0.0.1";
/** What a normal /notify answer may take here, on a machine busy with the attack. */
const NORMAL_MS = 5_000;

let sandbox: Sandbox;
let apns: { production: ApnsSandbox; development: ApnsSandbox };
let herald: TestHerald | undefined;
const sockets: Socket[] = [];

before(async () => {
  sandbox = await startSandbox();
  apns = await startApnsEndpoints(sandbox);
});
after(async () => {
  await Promise.all([sandbox.close(), apns.production.close(), apns.development.close()]);
});
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await herald?.stop();
  herald = undefined;
  resetCalls();
});

async function start(config: Record<string, unknown>): Promise<TestHerald> {
  herald = await startTestHerald(
    {
      metrics: { prometheus: { enabled: true, address: "127.0.0.1", port: 0 } },
      apps: { "com.example.spqr": testApp() },
      push_relay: pushRelaySection(sandbox, apns, {}),
      ...config,
      http: { bind_addresses: ["127.0.0.1"], port: 0, ...(config.http as object) },
    },
    {},
    { logLevel: "warn" },
  );
  return herald;
}

function port(h: TestHerald): number {
  return Number(new URL(h.url).port);
}

/** A connection from `from`, kept until the test ends. */
async function open(h: TestHerald, from: string): Promise<Socket> {
  const socket = await connectFrom(port(h), from);
  sockets.push(socket);
  return socket;
}

async function metric(h: TestHerald, name: string): Promise<number> {
  const text = await (await fetch(`${h.metricsUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.split(" ")[1]);
}

async function notifyFromHomeserver(h: TestHerald, pushkey: string): Promise<number> {
  const res = await within(`/notify for ${pushkey}`, h.notify(notification([device(pushkey)])), NORMAL_MS);
  await res.arrayBuffer();
  return res.status;
}

describe("slow bodies", () => {
  test("a few thousand stalled bodies on /notify and /push do not take /notify's share", async () => {
    // Bodies are given all the time they want here: what is shown is that a stalled body is not work.
    const h = await start({
      http: { body_timeout: 120, body_min_rate: 0 },
      load_shedding: { max_concurrent_requests: 50, max_concurrent_public_requests: 50, max_event_loop_delay: 0 },
    });
    const stalled = 3000;
    for (let i = 0; i < stalled; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, async (_, j) => {
          const socket = await open(h, ATTACKER);
          const path = (i + j) % 2 === 0 ? "/_matrix/push/v1/notify" : "/push";
          socket.write(stalledRequest(path, 50_000, '{"notification": {"devi'));
        }),
      );
    }
    await waitFor("Herald to hold every stalled connection", async () => {
      return (await metric(h, "herald_http_connections")) >= stalled;
    });

    const answers: number[] = [];
    for (let i = 0; i < 20; i++) answers.push(await notifyFromHomeserver(h, `accept-${i}`));
    assert.deepEqual(answers, Array(20).fill(200));
    assert.equal(calls.length, 20);
  });

  test("a trickled body is answered 408 within about a second of falling behind, and its connection closed", async () => {
    const h = await start({});
    const socket = await open(h, ATTACKER);
    const answer = answerOf(socket);
    socket.write(stalledRequest("/_matrix/push/v1/notify", 2000, '{"notif'));
    const { text, reset } = await within("the 408", answer, 5_000);
    assert.equal(reset, false, "the answer is read, not reset");
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.match(text, /connection: close/i);
    assert.match(text, /"error":"the request body took too long to arrive"/);
    assert.equal(await metric(h, 'herald_http_slow_bodies_total{limit="min_rate"}'), 1);
    assert.equal(calls.length, 0);
  });

  test("a body past http.body_timeout is answered 408, in /push's own words", async () => {
    const h = await start({ http: { body_timeout: 1, body_min_rate: 0 } });
    const socket = await open(h, ATTACKER);
    const answer = answerOf(socket);
    socket.write(
      `POST /push HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\n`,
    );
    // A byte every 100 ms: steady, but the whole body would take 50 s.
    const drip = setInterval(() => socket.writable && socket.write("a"), 100);
    try {
      const { text, reset } = await within("the 408", answer, 5_000);
      assert.equal(reset, false);
      assert.match(text, /^HTTP\/1\.1 408 /);
      assert.match(text, /The request body took too long to arrive$/);
    } finally {
      clearInterval(drip);
    }
    assert.equal(await metric(h, 'herald_http_slow_bodies_total{limit="timeout"}'), 1);
  });

  test("a body that arrives in pieces at an honest pace is served", async () => {
    const h = await start({});
    const body = JSON.stringify(notification([device("accept")]));
    const socket = await open(h, HOMESERVER);
    const answer = answerOf(socket);
    socket.write(stalledRequest("/_matrix/push/v1/notify", Buffer.byteLength(body), ""));
    for (let at = 0; at < body.length; at += 10) {
      socket.write(body.slice(at, at + 10));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    socket.end();
    const { text } = await within("the answer", answer, 5_000);
    assert.match(text, /^HTTP\/1\.1 200 /);
  });
});

describe("connection caps", () => {
  test("past max_connections_per_address, an address's new connections get 503 and a clean close; others are served", async () => {
    const h = await start({ http: { max_connections_per_address: 5, exempt_addresses: ["127.0.0.3"] } });
    for (let i = 0; i < 5; i++) await open(h, ATTACKER);
    const sixth = await open(h, ATTACKER);
    const answer = answerOf(sixth);
    sixth.write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    const { text, reset } = await within("the refusal", answer, 5_000);
    assert.equal(reset, false, "the client reads the refusal");
    assert.match(text, /^HTTP\/1\.1 503 /);
    assert.match(text, /Retry-After: 1/);
    assert.match(text, /too many connections from this address/);

    assert.equal(await notifyFromHomeserver(h, "accept"), 200, "another address is served");
    for (let i = 0; i < 10; i++) await open(h, "127.0.0.3");
    const exempt = await rawRequest(h.url, { method: "GET", path: "/health" });
    assert.equal(exempt.status, 200);
    assert.equal(await metric(h, 'herald_http_connections_refused_total{limit="per_address"}'), 1);
  });

  test("past max_connections, new connections get 503, except from an exempt homeserver", async () => {
    const h = await start({ http: { max_connections: 5, exempt_addresses: [HOMESERVER] } });
    for (let i = 0; i < 5; i++) await open(h, ATTACKER);
    const refused = await open(h, "127.0.0.4");
    const answer = answerOf(refused);
    refused.write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    const { text, reset } = await within("the refusal", answer, 5_000);
    assert.equal(reset, false);
    assert.match(text, /^HTTP\/1\.1 503 /);
    assert.match(text, /too many connections open/);
    assert.equal(await notifyFromHomeserver(h, "accept"), 200, "the exempt homeserver is served");
    assert.equal(await metric(h, 'herald_http_connections_refused_total{limit="total"}'), 1);
  });

  test("a closed connection frees its place", async () => {
    const h = await start({ http: { max_connections_per_address: 2 } });
    const first = await open(h, ATTACKER);
    await open(h, ATTACKER);
    first.destroy();
    await waitFor("the first connection counted closed", async () => (await metric(h, "herald_http_connections")) <= 1);
    const third = await open(h, ATTACKER);
    const answer = answerOf(third);
    third.write("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.match((await within("the answer", answer, 5_000)).text, /^HTTP\/1\.1 200 /);
  });
});

describe("the public surfaces are shed before /notify", () => {
  test("/push at max_concurrent_public_requests is shed while /notify is served", async () => {
    const h = await start({
      load_shedding: { max_concurrent_public_requests: 2, max_event_loop_delay: 0 },
      request_deadline: 3,
    });
    const hanging = ["a1", "a2"].map((n) => {
      const token = `${n}${"0".repeat(62)}`;
      apns.production.script(token, { status: 200, hang: true });
      const body = new URLSearchParams({
        type: "apns",
        token,
        session: "s",
        version: "3",
        bundleid: "ch.threema.webclient.test",
        endpoint: "p",
      }).toString();
      return rawRequest(h.url, {
        method: "POST",
        path: "/push",
        body,
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
    });
    await waitFor("both pushes at the provider", () => apns.production.requests >= 2);
    const shed = await rawRequest(h.url, { method: "POST", path: "/push", body: "type=fcm" });
    assert.equal(shed.status, 503);
    assert.match(shed.body, /overloaded \(concurrent requests\)/);
    assert.equal(await notifyFromHomeserver(h, "accept"), 200);
    assert.equal(await metric(h, 'herald_load_shed_total{reason="concurrent_requests",surface="public"}'), 1);
    await Promise.all(hanging);
  });

  test("a lagging event loop sheds the public surfaces at half the lag /notify is shed at", async () => {
    const h = await start({ load_shedding: { max_event_loop_delay: 2 } });
    // Herald runs in this process: a 1.3 s lag is past the public surfaces' 1 s and short of /notify's 2 s.
    const until = Date.now() + 1300;
    while (Date.now() < until);
    const [push, notify] = await Promise.all([
      rawRequest(h.url, { method: "POST", path: "/push", body: "type=fcm" }),
      rawRequest(h.url, {
        method: "POST",
        path: "/_matrix/push/v1/notify",
        body: JSON.stringify(notification([device("accept")])),
      }),
    ]);
    assert.equal(push.status, 503);
    assert.match(push.body, /overloaded \(event loop delay\)/);
    assert.equal(notify.status, 200);
  });

  test("a process whose resident memory is past max_memory_used sheds requests, /health excepted", async () => {
    const h = await start({ load_shedding: { max_memory_used: 0.000001, max_event_loop_delay: 0 } });
    const res = await waitFor("the memory sampler's first reading to shed a request", async () => {
      const answer = await rawRequest(h.url, {
        method: "POST",
        path: "/_matrix/push/v1/notify",
        body: JSON.stringify(notification([device("accept")])),
      });
      return answer.status === 503 && answer;
    });
    assert.match(res.body, /overloaded \(memory\)/);
    assert.equal((await rawRequest(h.url, { method: "GET", path: "/health" })).status, 200);
  });
});
