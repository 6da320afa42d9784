/**
 * `push_relay.rate_limits` over real sockets, against the sandbox Threema Gateway, which counts the messages it was
 * sent: per client address (a loopback address of its own, the client socket bound to it), every request counted
 * before it is read; per recipient, whoever sends, exempt addresses included. Over either: 429 `Too many requests` with
 * Retry-After, counted in `herald_rate_limited_total`.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import type { Sandbox } from "../../src/sandbox/index.js";
import { flood, statuses } from "../helpers/flood.js";
import { rawRequest, type TestHerald } from "../helpers/herald.js";
import { answerOf, connectFrom, stalledRequest } from "../helpers/rawHttp.js";
import { within } from "../helpers/waitFor.js";
import { startPushRelayHerald, type PushRelayHerald } from "./sandboxConfig.js";

/** A day to refill one request: nothing comes back while a test runs. */
const PER_ADDRESS = { requests: 10, period: 10 * 86_400 };
const PER_RECIPIENT = { requests: 5, period: 5 * 86_400 };
const EXEMPT = "127.0.0.4";
/** How long a body may stall: far longer than a test waits, so that only an answer that did not wait for it arrives. */
const BODY_TIMEOUT_S = 120;

let sandbox: Sandbox;
let herald: TestHerald;
let relay: PushRelayHerald;

before(async () => {
  relay = await startPushRelayHerald(
    {
      http: {
        bind_addresses: ["127.0.0.1"],
        port: 0,
        exempt_addresses: [EXEMPT],
        body_timeout: BODY_TIMEOUT_S,
        body_min_rate: 0,
      },
    },
    { rate_limits: { per_address: PER_ADDRESS, per_recipient: PER_RECIPIENT } },
  );
  ({ sandbox, herald } = relay);
});
after(() => relay.close());
afterEach(() => sandbox.threema.reset());

interface Sent {
  status: number;
  body: string;
  type: string | undefined;
  retryAfter: string | undefined;
  exposed: string | undefined;
}

/** POSTs a form to /push from `from`, as Threema Web does from its page. */
async function push(from: string, form: string): Promise<Sent> {
  const res = await rawRequest(herald.url, {
    method: "POST",
    path: "/push",
    body: form,
    headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://web.threema.ch" },
    localAddress: from,
  });
  return {
    status: res.status,
    body: res.body,
    type: res.headers["content-type"] as string | undefined,
    retryAfter: res.headers["retry-after"] as string | undefined,
    exposed: res.headers["access-control-expose-headers"] as string | undefined,
  };
}

/** A Threema user the sandbox gateway knows, and the /push form that wakes them. */
function threemaWakeup(): { identity: string; form: string } {
  const user = sandbox.threema.createRecipient();
  const form = new URLSearchParams({
    type: "threema-gateway",
    identity: user.identity,
    public_key: user.publicKeyHex,
    session: "s",
    version: "3",
  }).toString();
  return { identity: user.identity, form };
}

function assertTooMany(answer: Sent, period: number): void {
  assert.equal(answer.status, 429);
  assert.equal(answer.body, "Too many requests");
  assert.equal(answer.type, "text/plain; charset=utf-8");
  assert.ok(/^\d+$/.test(answer.retryAfter ?? ""), `Retry-After: ${answer.retryAfter}`);
  assert.ok(Number(answer.retryAfter) > period - 400 && Number(answer.retryAfter) <= period, answer.retryAfter);
  assert.equal(answer.exposed, "Retry-After", "Threema Web's page can read when to come back");
}

async function rateLimited(limit: string): Promise<number> {
  const metric = herald.herald.metrics.registry.getSingleMetric("herald_rate_limited_total");
  const values = (await metric?.get())?.values ?? [];
  return values.find((v) => v.labels.surface === "push_relay" && v.labels.limit === limit)?.value ?? 0;
}

const received = (identity: string) => sandbox.threema.received.filter((message) => message.to === identity).length;

describe("push_relay.rate_limits", () => {
  test("a flood of pushes to one Threema ID: the gateway gets the first few, the rest are 429; another ID gets through", async () => {
    const target = threemaWakeup();
    const counted = await rateLimited("per_recipient");
    // From an exempt address: no per-address limit, but the recipient's own still applies.
    const answers = await flood(40, () => push(EXEMPT, target.form));
    assert.deepEqual(statuses(answers), { 204: 5, 429: 35 });
    for (const refused of answers.slice(5)) assertTooMany(refused, 86_400);
    assert.equal(received(target.identity), 5, "the gateway was sent no more");
    assert.equal((await rateLimited("per_recipient")) - counted, 35, "each 429 counted");

    const other = threemaWakeup();
    assert.equal((await push(EXEMPT, other.form)).status, 204);
    assert.equal(received(other.identity), 1);
    // Another address does not reset the recipient's budget.
    assertTooMany(await push("127.0.0.5", target.form), 86_400);
    assert.equal(received(target.identity), 5);
  });

  test("a flood from one address is refused past its limit, bad requests included, before the body is read", async () => {
    const from = "127.0.0.2";
    const counted = await rateLimited("per_address");
    const bad = await flood(10, () => push(from, "session=s"));
    assert.deepEqual(statuses(bad), { 400: 10 });
    const wakeup = threemaWakeup();
    const refused = await flood(20, () => push(from, wakeup.form));
    assert.deepEqual(statuses(refused), { 429: 20 });
    assertTooMany(refused[0]!, 86_400);
    assert.equal(received(wakeup.identity), 0);
    assert.equal((await rateLimited("per_address")) - counted, 20);
    // Each address has its own budget.
    assert.equal((await push("127.0.0.6", wakeup.form)).status, 204);
    assert.equal(received(wakeup.identity), 1);
  });

  test("a limited address is answered 429 without its body being read: a stalled body does not hold the answer", async (t) => {
    const from = "127.0.0.7";
    assert.deepEqual(statuses(await flood(PER_ADDRESS.requests, () => push(from, "session=s"))), { 400: 10 });
    const socket = await connectFrom(Number(new URL(herald.url).port), from);
    t.after(() => socket.destroy());
    const answer = answerOf(socket);
    // 60 KB announced (within the 64 KiB limit), a few bytes sent, the rest never: a read would wait BODY_TIMEOUT_S.
    socket.write(
      stalledRequest("/push", 60_000, "type=threema-gateway&identity=", "application/x-www-form-urlencoded"),
    );
    const { text } = await within("the 429 while the body is stalled", answer, 10_000);
    assert.match(text, /^HTTP\/1\.1 429 /);
    assert.match(text, /\r\nconnection: close\r\n/i, "the rest of the body is not drained");
    assert.match(text, /\r\n\r\nToo many requests$/);
  });

  test("an exempt address is not limited per address", async () => {
    const answers = await flood(30, () => push(EXEMPT, "session=s"));
    assert.deepEqual(statuses(answers), { 400: 30 });
  });
});
