/**
 * Dispatch over real HTTP with the test pushkin: concurrency and order, the request deadline, in-flight limits,
 * failures and their answers, duplicate suppression and the dead-token cache.
 */
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { calls, resetCalls } from "./helpers/testPushkin.js";
import { device, notification, startTestHerald, testApp, type TestHerald } from "./helpers/herald.js";
import { waitFor } from "./helpers/waitFor.js";

let herald: TestHerald | undefined;
afterEach(async () => {
  await herald?.stop();
  herald = undefined;
  resetCalls();
});

async function start(config: Record<string, unknown> = {}): Promise<TestHerald> {
  herald = await startTestHerald({
    apps: { "com.example.spqr": testApp(), "com.example.other": testApp() },
    ...config,
  });
  return herald;
}

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

const EVENT = { event_id: "$event:example.com", room_id: "!room:example.com" };

describe("devices of one notification", () => {
  test("are dispatched concurrently", async () => {
    // Each barrier device waits until all three are in flight at once: sequential dispatch would never finish.
    const h = await start({ request_deadline: 5 });
    const res = await h.notify(notification([device("barrier:3"), device("barrier:3"), device("barrier:3")]));
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '{"rejected": []}');
  });
  test("keep their order in 'rejected', whatever order they finish in", async () => {
    const h = await start();
    const res = await h.notify(
      notification([
        device("reject-slow", "com.unknown"),
        { app_id: "com.example.spqr", pushkey: "reject" },
        device("accept"),
        device("k3", "nope"),
      ]),
    );
    assert.equal(await res.text(), '{"rejected": ["reject-slow", "reject", "k3"]}');
  });
  test("many devices listening to the request's deadline raise no process warning", async () => {
    const h = await start();
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on("warning", onWarning);
    try {
      const res = await h.notify(notification(Array.from({ length: 30 }, (_, i) => device(`k${i}`))));
      assert.equal(await res.text(), '{"rejected": []}');
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("warning", onWarning);
    }
    assert.deepEqual(warnings, []);
  });
  test("a device with nothing to send is neither rejected nor a failure", async () => {
    const h = await start();
    const res = await h.notify(notification([device("skip")]));
    assert.equal(await res.text(), '{"rejected": []}');
  });
});

describe("failures", () => {
  test("a provider failure is 502 with a JSON reason; other devices are still sent", async () => {
    const h = await start();
    const res = await h.notify(notification([device("remote_error"), device("accept")]));
    assert.equal(res.status, 502);
    const body = await json(res);
    assert.equal(body.errcode, "M_UNKNOWN");
    // The pushkin's own message may name hosts and paths: it stays in the log, with the request id.
    assert.equal(body.error, "push provider failure: the push could not be sent; the gateway's log says why");
    assert.equal(body.request_id, res.headers.get("x-request-id"));
    assert.deepEqual(calls.map((c) => c.pushkey).sort(), ["accept", "remote_error"]);
  });
  test("a provider's Retry-After is passed on with the 502", async () => {
    const h = await start();
    const res = await h.notify(notification([device("temporary_remote_error:7"), device("temporary_remote_error:3")]));
    assert.equal(res.status, 502);
    assert.equal(res.headers.get("retry-after"), "7");
  });
  test("an unexpected exception is 500 with the request id and no details", async () => {
    const h = await start();
    const res = await h.notify(notification([device("accept"), device("raise_exception")]));
    assert.equal(res.status, 500);
    const body = await json(res);
    assert.equal(body.request_id, res.headers.get("x-request-id"));
    assert.doesNotMatch(JSON.stringify(body), /unexpected exception|\.js:\d+/);
    const logged = h.logs.find((l) => l.msg === "Unexpected error while dispatching");
    assert.equal(logged?.request_id, body.request_id, "the log line carries the same request id");
  });
  test("a bug wins over a provider failure: 500", async () => {
    const h = await start();
    const res = await h.notify(notification([device("remote_error"), device("raise_exception")]));
    assert.equal(res.status, 500);
  });
});

describe("a pushkin's bugs", () => {
  test("a dispatch that resolves to no outcome is a 500, and the process goes on", async () => {
    const h = await start();
    const res = await h.notify(notification([device("resolve_nothing")]));
    assert.equal(res.status, 500);
    assert.equal((await h.notify(notification([device("accept")]))).status, 200);
  });

  test("a deviceOrigin that throws is a 500 that gives its in-flight slot back", async () => {
    const h = await start({
      apps: { "com.example.spqr": testApp({ device_origins: true, inflight_request_limit: 1 }) },
    });
    const broken = { ...device("accept"), data: { origin: "throw" } };
    assert.equal((await h.notify(notification([broken]))).status, 500);
    // With its one slot leaked, the app would answer 503 from now on.
    assert.equal((await h.notify(notification([device("accept")]))).status, 200);
  });
});

describe("a device's data", () => {
  const nested = (depth: number) => {
    let data: unknown = { alert: "x" };
    for (let i = 1; i < depth; i++) data = i % 2 ? { a: data } : [data];
    return data;
  };

  test("nested deeper than any payload can be is that device's problem: rejected, the others delivered", async () => {
    const h = await start();
    const deep = { ...device("deep"), data: { default_payload: nested(3000) } };
    const res = await h.notify(notification([deep, device("accept")]));
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '{"rejected": ["deep"]}');
    assert.deepEqual(
      calls.map((c) => c.pushkey),
      ["accept"],
    );
    assert.ok(h.logs.some((l) => l.msg === "Pushkey rejected" && /deeper than 64 levels/.test(String(l.why))));
  });

  test("nested as deep as the limit is sent", async () => {
    const h = await start();
    // default_payload itself is the second level of data.
    const res = await h.notify(notification([{ ...device("accept"), data: { default_payload: nested(63) } }]));
    assert.equal(await res.text(), '{"rejected": []}');
    assert.equal(calls.length, 1);
  });
});

describe("the request deadline", () => {
  test("covers the whole request: a provider that hangs gets 502 when it passes, and is told to stop", async () => {
    const h = await start({ request_deadline: 0.2 });
    const res = await h.notify(notification([device("hang"), device("accept")]));
    assert.equal(res.status, 502);
    assert.match(String((await json(res)).error), /request deadline of 0\.2s passed/);
    assert.equal(calls.find((c) => c.pushkey === "hang")?.aborted, true);
    assert.equal(calls.find((c) => c.pushkey === "accept")?.aborted, false);
  });
  test("is not felt by requests that finish in time", async () => {
    const h = await start({ request_deadline: 5 });
    const res = await h.notify(notification([device("slow:50")]));
    assert.equal(res.status, 200);
    assert.equal(calls[0]?.aborted, false);
  });
});

describe("inflight_request_limit", () => {
  function limited(limit: number) {
    return start({
      apps: { "com.example.spqr": testApp({ inflight_request_limit: limit }), "com.example.other": testApp() },
    });
  }

  test("a request over a pushkin's limit gets 503 with Retry-After, and nothing of it is sent", async () => {
    const h = await limited(1);
    const first = h.notify(notification([device("slow:300")]));
    await waitFor("the request at the pushkin", () => calls.length === 1);
    const second = await h.notify(notification([device("accept"), device("accept", "com.example.other")]));
    assert.equal(second.status, 503);
    assert.equal(second.headers.get("retry-after"), "1");
    assert.equal((await json(second)).errcode, "M_UNAVAILABLE");
    assert.equal(calls.length, 1, "the other pushkin's device was not sent either");
    assert.equal((await first).status, 200);
  });
  test("other pushkins are not affected by one at its limit", async () => {
    const h = await limited(1);
    const first = h.notify(notification([device("slow:300")]));
    await waitFor("the request at the pushkin", () => calls.length === 1);
    const other = await h.notify(notification([device("accept", "com.example.other")]));
    assert.equal(other.status, 200);
    await first;
  });
  test("one request with more devices than the limit is refused whole", async () => {
    const h = await limited(2);
    const res = await h.notify(notification([device("a"), device("b"), device("c")]));
    assert.equal(res.status, 503);
    assert.equal(calls.length, 0);
  });
  test("slots come back when requests finish", async () => {
    const h = await limited(1);
    for (let i = 0; i < 3; i++) assert.equal((await h.notify(notification([device("accept")]))).status, 200);
  });
  test("a slot is held until the pushkin really finishes, even past the deadline", async () => {
    const h = await start({
      request_deadline: 0.1,
      apps: { "com.example.spqr": testApp({ inflight_request_limit: 1 }) },
    });
    assert.equal((await h.notify(notification([device("stubborn:400")]))).status, 502);
    assert.equal((await h.notify(notification([device("accept")]))).status, 503, "the stubborn send is still running");
    await waitFor("the pushkin to finish", () => calls[0]?.finished === true);
    assert.equal((await h.notify(notification([device("accept")]))).status, 200);
  });
});

describe("duplicate suppression", () => {
  test("a device that already got an event is not pushed it again", async () => {
    const h = await start();
    for (let i = 0; i < 2; i++) {
      const res = await h.notify(notification([device("accept")], EVENT));
      assert.equal(await res.text(), '{"rejected": []}');
    }
    assert.equal(calls.length, 1);
  });
  test("another event, another device or another app is pushed", async () => {
    const h = await start();
    await h.notify(notification([device("accept")], EVENT));
    await h.notify(notification([device("accept")], { ...EVENT, event_id: "$other" }));
    await h.notify(notification([device("accept2")], EVENT));
    await h.notify(notification([device("accept", "com.example.other")], EVENT));
    assert.equal(calls.length, 4);
  });
  test("Element's test push ($THIS_IS_A_FAKE_EVENT_ID) is pushed every time the user asks for it", async () => {
    const h = await start();
    for (let i = 0; i < 3; i++) {
      await h.notify(
        notification([device("accept")], { event_id: "$THIS_IS_A_FAKE_EVENT_ID", room_id: "!room:domain" }),
      );
    }
    assert.equal(calls.length, 3);
  });
  test("count-only updates (no event_id) are always pushed", async () => {
    const h = await start();
    await h.notify(notification([device("accept")], { counts: { unread: 1 } }));
    await h.notify(notification([device("accept")], { counts: { unread: 1 } }));
    assert.equal(calls.length, 2);
  });
  test("when a homeserver retries after a 502, only the devices that failed are pushed again", async () => {
    const h = await start();
    const body = notification([device("accept"), device("temporary_remote_error")], EVENT);
    assert.equal((await h.notify(body)).status, 502);
    assert.equal((await h.notify(body)).status, 502);
    assert.deepEqual(
      calls.map((c) => c.pushkey),
      ["accept", "temporary_remote_error", "temporary_remote_error"],
    );
  });
  test("can be switched off", async () => {
    const h = await start({ duplicate_suppression: { enabled: false } });
    await h.notify(notification([device("accept")], EVENT));
    await h.notify(notification([device("accept")], EVENT));
    assert.equal(calls.length, 2);
  });
});

describe("dead-token cache", () => {
  test("a pushkey the provider declared dead is rejected again without asking the provider", async () => {
    const h = await start();
    for (const eventId of ["$1", "$2"]) {
      const res = await h.notify(notification([device("reject")], { event_id: eventId }));
      assert.equal(await res.text(), '{"rejected": ["reject"]}');
    }
    assert.equal(calls.length, 1);
  });
  test("is per app: the same pushkey under another app is asked", async () => {
    const h = await start();
    await h.notify(notification([device("reject")]));
    await h.notify(notification([device("reject", "com.example.other")]));
    assert.equal(calls.length, 2);
  });
  test("failures are never remembered as dead", async () => {
    const h = await start();
    await h.notify(notification([device("remote_error")]));
    await h.notify(notification([device("remote_error")]));
    assert.equal(calls.length, 2);
  });
  test("can be switched off", async () => {
    const h = await start({ dead_token_cache: { enabled: false } });
    await h.notify(notification([device("reject")]));
    await h.notify(notification([device("reject")]));
    assert.equal(calls.length, 2);
  });
});
