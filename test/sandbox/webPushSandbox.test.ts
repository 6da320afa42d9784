/**
 * The Web Push sandbox answers like a push service over real TLS, and decrypts like a browser: messages encrypted by
 * the `web-push` library (RFC 8291, aes128gcm) come out as the plaintext that was sent; VAPID, header, content-coding
 * and decryption failures get the push services' statuses; scripts, faults and shutdown behave.
 */
import assert from "node:assert/strict";
import { createPrivateKey, type KeyObject } from "node:crypto";
import { once } from "node:events";
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import http2 from "node:http2";
import https from "node:https";
import { after, before, beforeEach, describe, test } from "node:test";
import webPush, { type RequestDetails, type RequestOptions, type VapidKeys } from "web-push";
import { signJwt } from "../../src/core/jwt.js";
import { createSandboxCa, type SandboxCa } from "../../src/sandbox/ca.js";
import { WebPushSandbox, type PushSubscription, type ReceivedWebPush } from "../../src/sandbox/webpush.js";
import { httpsPost, type HttpsResponse } from "./fcmClient.js";
import { waitFor, within } from "../helpers/waitFor.js";

const SUBJECT = "mailto:push-admin@herald.example";
const HOUR_MS = 3600_000;

let ca: SandboxCa;
let sandbox: WebPushSandbox;
let clockMs = Date.now();
let vapidKeys: VapidKeys;
let otherVapidKeys: VapidKeys;
let subscription: PushSubscription & { id: string };
let otherSubscription: PushSubscription & { id: string };

/** A Herald-like request built by the `web-push` library: real VAPID JWT, real aes128gcm encryption. */
function requestFor(
  target: PushSubscription,
  payload: string | null,
  options: Omit<RequestOptions, "vapidDetails"> = {},
): RequestDetails {
  return webPush.generateRequestDetails(target, payload ?? undefined, {
    vapidDetails: { subject: SUBJECT, ...vapidKeys },
    TTL: 60,
    contentEncoding: "aes128gcm",
    ...options,
  });
}

/** Sends the request, with headers changed (undefined removes one) and optionally another URL or body. */
function send(
  details: RequestDetails,
  change: { headers?: Record<string, string | undefined>; url?: string; body?: Buffer } = {},
): Promise<HttpsResponse> {
  const headers: OutgoingHttpHeaders = { ...details.headers, ...change.headers };
  for (const [name, value] of Object.entries(headers)) if (value === undefined) delete headers[name];
  // Node sets the length of whatever body is finally sent.
  delete headers["Content-Length"];
  return httpsPost(change.url ?? details.endpoint, ca.certPem, { headers, body: change.body ?? details.body });
}

/** A VAPID JWT made by hand, for claims the `web-push` library refuses to sign. */
function handSignedVapid(claims: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  return signJwt("ES256", vapidPrivateKey(vapidKeys), claims, header);
}

function vapidPrivateKey(keys: VapidKeys): KeyObject {
  const point = Buffer.from(keys.publicKey, "base64url");
  const x = point.subarray(1, 33).toString("base64url");
  const y = point.subarray(33).toString("base64url");
  return createPrivateKey({ key: { kty: "EC", crv: "P-256", d: keys.privateKey, x, y }, format: "jwk" });
}

function validClaims(): Record<string, unknown> {
  return { aud: sandbox.url, exp: Math.floor(clockMs / 1000) + 3600, sub: SUBJECT };
}

async function expectRefusal(response: Promise<HttpsResponse>, status: number, message?: RegExp): Promise<void> {
  const { status: actual, headers, body } = await response;
  assert.equal(actual, status, body);
  assert.match(String(headers["content-type"]), /^application\/json/);
  const error = JSON.parse(body) as { code: number; message: string };
  assert.equal(error.code, status);
  if (message !== undefined) assert.match(error.message, message);
}

before(async () => {
  ca = await createSandboxCa();
  sandbox = await WebPushSandbox.start({ ca, now: () => clockMs });
  vapidKeys = webPush.generateVAPIDKeys();
  otherVapidKeys = webPush.generateVAPIDKeys();
  subscription = sandbox.createSubscription();
  otherSubscription = sandbox.createSubscription();
});

after(async () => {
  await sandbox.close();
});

beforeEach(() => {
  clockMs = Date.now();
  sandbox.reset();
});

describe("subscriptions and delivery", () => {
  test("a subscription looks like a browser's: endpoint on the sandbox, a P-256 point and a 16-byte secret", () => {
    assert.equal(subscription.endpoint, `${sandbox.url}/push/${subscription.id}`);
    assert.match(sandbox.url, /^https:\/\/localhost:\d+$/);
    assert.match(subscription.keys.p256dh, /^[A-Za-z0-9_-]+$/);
    const point = Buffer.from(subscription.keys.p256dh, "base64url");
    assert.deepEqual([point.length, point[0]], [65, 0x04]);
    assert.equal(Buffer.from(subscription.keys.auth, "base64url").length, 16);
    assert.notEqual(otherSubscription.id, subscription.id);
    assert.notEqual(otherSubscription.keys.p256dh, subscription.keys.p256dh);
  });

  test("a valid push gets 201 with Location, is decrypted, recorded with its headers and emits 'push'", async () => {
    const message = { notification: { room_id: "!room:example.org", counts: { unread: 2 } } };
    const emitted = once(sandbox, "push") as Promise<[ReceivedWebPush]>;
    const details = requestFor(subscription, JSON.stringify(message), { TTL: 300, urgency: "high", topic: "room1" });
    const response = await send(details);
    assert.equal(response.status, 201, response.body);
    assert.match(String(response.headers["location"]), new RegExp(`^${sandbox.url}/message/[0-9a-f-]{36}$`));
    assert.equal(response.headers["ttl"], "300");
    assert.equal(sandbox.received.length, 1);
    const [received] = sandbox.received;
    assert.ok(received);
    assert.deepEqual(
      { ...received, headers: undefined, vapid: undefined },
      {
        subscriptionId: subscription.id,
        endpoint: subscription.endpoint,
        ttl: 300,
        urgency: "high",
        topic: "room1",
        vapid: undefined,
        plaintext: JSON.stringify(message),
        payload: message,
        headers: undefined,
        receivedAt: clockMs,
      },
    );
    assert.equal(received.vapid.publicKey, vapidKeys.publicKey);
    assert.equal(received.vapid.aud, sandbox.url);
    assert.equal(received.vapid.sub, SUBJECT);
    // web-push signs for 12 hours.
    assert.ok(Math.abs(received.vapid.exp - (Date.now() / 1000 + 12 * 3600)) < 60);
    assert.equal(received.headers["content-encoding"], "aes128gcm");
    assert.equal((await emitted)[0], received);
    assert.equal(sandbox.requests, 1);
  });

  test("multi-byte UTF-8, a ~3 KB payload and a plain-text one decrypt exactly", async () => {
    const texts = [
      JSON.stringify({ body: "Grüße aus Köln — 日本語のメッセージ 👋🏽" }),
      JSON.stringify({ body: "ü€𝄞".repeat(100) + "x".repeat(2200) }),
      "not JSON at all",
    ];
    assert.ok(Buffer.byteLength(texts[1] ?? "") > 3000);
    for (const text of texts) assert.equal((await send(requestFor(subscription, text))).status, 201);
    assert.deepEqual(
      sandbox.received.map((received) => received.plaintext),
      texts,
    );
    assert.equal(sandbox.received[2]?.payload, undefined);
    assert.equal(sandbox.received[0]?.urgency, "normal");
    assert.equal(sandbox.received[0]?.topic, undefined);
  });

  test("the older `WebPush <JWT>` + `Crypto-Key: p256ecdsa=` form is accepted", async () => {
    const legacy = webPush.getVapidHeaders(sandbox.url, SUBJECT, vapidKeys.publicKey, vapidKeys.privateKey, "aesgcm");
    const response = await send(requestFor(subscription, "legacy"), {
      headers: { Authorization: legacy.Authorization, "Crypto-Key": legacy["Crypto-Key"] },
    });
    assert.equal(response.status, 201, response.body);
    assert.match(legacy.Authorization, /^WebPush /);
    assert.equal(sandbox.received[0]?.vapid.publicKey, vapidKeys.publicKey);
    assert.equal(sandbox.received[0]?.plaintext, "legacy");
  });

  test("a push without payload needs no content coding (RFC 8030); its plaintext is empty", async () => {
    const details = requestFor(subscription, null);
    assert.equal(details.body, null);
    assert.equal((await send(details)).status, 201);
    assert.equal(sandbox.received[0]?.plaintext, "");
    assert.equal(sandbox.received[0]?.payload, undefined);
  });

  test("HTTP/2 works as well as HTTP/1.1", async () => {
    const details = requestFor(subscription, "over h2");
    const session = http2.connect(sandbox.url, { ca: ca.certPem });
    try {
      const headers: OutgoingHttpHeaders = { ":method": "POST", ":path": new URL(details.endpoint).pathname };
      for (const [name, value] of Object.entries(details.headers)) headers[name.toLowerCase()] = String(value);
      const stream = session.request(headers);
      stream.end(details.body);
      const [responseHeaders] = (await once(stream, "response")) as [IncomingHttpHeaders];
      assert.equal(responseHeaders[":status"], 201);
      stream.resume();
      await once(stream, "end");
    } finally {
      session.close();
    }
    assert.equal(sandbox.received[0]?.plaintext, "over h2");
  });

  test("a subscription made with an applicationServerKey takes only that VAPID key", async () => {
    const restricted = sandbox.createSubscription({ applicationServerKey: otherVapidKeys.publicKey });
    await expectRefusal(send(requestFor(restricted, "x")), 403, /subscription was made with/);
    const details = webPush.generateRequestDetails(restricted, "y", {
      vapidDetails: { subject: SUBJECT, ...otherVapidKeys },
      TTL: 0,
      contentEncoding: "aes128gcm",
    });
    assert.equal((await send(details)).status, 201);
    assert.deepEqual(sandbox.received[0]?.ttl, 0);
  });
});

describe("refusals", () => {
  test("unknown paths and ids: 404; an expired subscription: 410, even before authorization", async () => {
    const valid = requestFor(subscription, "hello");
    await expectRefusal(send(valid, { url: `${sandbox.url}/push/no-such-id` }), 404);
    await expectRefusal(send(valid, { url: `${sandbox.url}/somewhere/else` }), 404);
    const gone = sandbox.createSubscription();
    sandbox.expire(gone.id);
    await expectRefusal(send(requestFor(gone, "hello")), 410);
    await expectRefusal(send(requestFor(gone, "hello"), { headers: { Authorization: undefined } }), 410);
    assert.throws(() => sandbox.expire("no-such-id"));
    assert.equal(sandbox.received.length, 0);
    assert.equal(sandbox.requests, 4);
  });

  test("other methods: 405", async () => {
    const response = await new Promise<number>((resolve, reject) => {
      https
        .get(subscription.endpoint, { ca: ca.certPem, agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on("error", reject);
    });
    assert.equal(response, 405);
  });

  test("no usable Authorization: 401 with WWW-Authenticate: vapid", async () => {
    const valid = requestFor(subscription, "hello");
    const cases: Array<string | undefined> = [
      undefined,
      "Bearer abc",
      `vapid t=${handSignedVapid(validClaims())}`,
      `vapid k=${vapidKeys.publicKey}`,
      `WebPush ${handSignedVapid(validClaims())}`, // no Crypto-Key
    ];
    for (const authorization of cases) {
      const response = await send(valid, { headers: { Authorization: authorization } });
      assert.equal(response.status, 401, String(authorization));
      assert.equal(response.headers["www-authenticate"], "vapid");
    }
    assert.equal(sandbox.received.length, 0);
  });

  test("a JWT not signed by k, or for another audience, or with a bad subject or algorithm: 403", async () => {
    const valid = requestFor(subscription, "hello");
    const jwt = /t=([^,\s]+)/.exec(valid.headers["Authorization"] ?? "")?.[1];
    assert.ok(jwt);
    const withClaims = (claims: Record<string, unknown>, header?: Record<string, unknown>) =>
      `vapid t=${handSignedVapid({ ...validClaims(), ...claims }, header)}, k=${vapidKeys.publicKey}`;
    const otherAudience = webPush.getVapidHeaders(
      "https://push.example.net",
      SUBJECT,
      vapidKeys.publicKey,
      vapidKeys.privateKey,
      "aes128gcm",
    );
    const cases: Array<[string, string, RegExp]> = [
      ["wrong key", `vapid t=${jwt}, k=${otherVapidKeys.publicKey}`, /not signed by the key/],
      ["key not a point", `vapid t=${jwt}, k=${"A".repeat(87)}`, /not an uncompressed P-256/],
      ["damaged signature", `vapid t=${jwt.slice(0, -4)}AAAA, k=${vapidKeys.publicKey}`, /not signed by the key/],
      ["not a JWT", `vapid t=abc.def, k=${vapidKeys.publicKey}`, /not a JWT/],
      ["wrong aud", otherAudience.Authorization, /aud/],
      ["aud with a path", withClaims({ aud: `${sandbox.url}/push` }), /aud/],
      ["sub not a contact", withClaims({ sub: "herald" }), /sub/],
      ["http: sub", withClaims({ sub: "http://herald.example" }), /sub/],
      ["no exp", withClaims({ exp: undefined }), /claims/],
      ["not ES256", withClaims({}, { alg: "ES384" }), /ES256/],
    ];
    for (const [name, authorization, message] of cases) {
      await expectRefusal(send(valid, { headers: { Authorization: authorization } }), 403, message);
      assert.equal(sandbox.received.length, 0, name);
    }
    // The hand-made JWT itself is fine.
    assert.equal((await send(valid, { headers: { Authorization: withClaims({}) } })).status, 201);
  });

  test("exp is judged by the sandbox clock: expired, or more than 24 hours ahead → 403", async () => {
    // web-push signs for 12 hours from the real clock.
    const valid = requestFor(subscription, "hello");
    const realNow = clockMs;
    clockMs = realNow + 12 * HOUR_MS + 60_000;
    await expectRefusal(send(valid), 403, /expired/);
    clockMs = realNow - 12 * HOUR_MS - 60_000;
    await expectRefusal(send(valid), 403, /24 hours/);
    clockMs = realNow - 11 * HOUR_MS;
    assert.equal((await send(valid)).status, 201);
  });

  test("TTL missing or not a non-negative integer, a bad Urgency or Topic: 400", async () => {
    const valid = requestFor(subscription, "hello");
    const cases: Array<[Record<string, string | undefined>, RegExp]> = [
      [{ TTL: undefined }, /Missing TTL/],
      [{ TTL: "-1" }, /Invalid TTL/],
      [{ TTL: "1.5" }, /Invalid TTL/],
      [{ TTL: "soon" }, /Invalid TTL/],
      [{ Urgency: "urgent" }, /Urgency/],
      [{ Urgency: "HIGH" }, /Urgency/],
      [{ Topic: "a".repeat(33) }, /Topic/],
      [{ Topic: "has space" }, /Topic/],
      [{ Topic: "a+b/c" }, /Topic/],
      [{ Topic: "" }, /Topic/],
    ];
    for (const [headers, message] of cases) await expectRefusal(send(valid, { headers }), 400, message);
    assert.equal(sandbox.received.length, 0);
    const ok = await send(valid, { headers: { Topic: `${"a".repeat(30)}==`, Urgency: "very-low" } });
    assert.equal(ok.status, 201, ok.body);
  });

  test("another content coding: 415; a body over 4096 bytes: 413", async () => {
    const valid = requestFor(subscription, "hello");
    await expectRefusal(send(valid, { headers: { "Content-Encoding": "aesgcm" } }), 415);
    await expectRefusal(send(valid, { headers: { "Content-Encoding": undefined } }), 415);
    const big = requestFor(subscription, "y".repeat(4000));
    assert.ok((big.body?.length ?? 0) > 4096);
    await expectRefusal(send(big), 413);
    const fits = requestFor(subscription, "y".repeat(3900));
    assert.ok((fits.body?.length ?? 0) <= 4096);
    assert.equal((await send(fits)).status, 201);
  });

  test("a message that does not decrypt with the subscription's keys: 400", async () => {
    const forOther = requestFor(otherSubscription, "not for you");
    await expectRefusal(send(forOther, { url: subscription.endpoint }), 400, /decrypt/);
    const valid = requestFor(subscription, "hello");
    const body = Buffer.from(valid.body ?? []);
    const damaged = Buffer.from(body);
    damaged[damaged.length - 1] = (damaged[damaged.length - 1] ?? 0) ^ 1;
    const badKeyLength = Buffer.from(body);
    badKeyLength[20] = 64;
    const cases = [damaged, badKeyLength, body.subarray(0, 90), Buffer.alloc(0)];
    for (const broken of cases) await expectRefusal(send(valid, { body: broken }), 400, /decrypt/);
    assert.equal(sandbox.received.length, 0);
    // Still the same request, untouched, is fine.
    assert.equal((await send(valid)).status, 201);
  });
});

describe("scripts, faults and shutdown", () => {
  test("scripted answers are used in order, the last one repeating, with Retry-After", async () => {
    sandbox.script(subscription.id, { status: 429, retryAfter: 3 }, { status: 201 }, { status: 503, retryAfter: 9 });
    const statuses: number[] = [];
    const retryAfters: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await send(requestFor(subscription, `n${i}`));
      statuses.push(response.status);
      retryAfters.push(response.headers["retry-after"]);
    }
    assert.deepEqual(statuses, [429, 201, 503, 503]);
    assert.deepEqual(retryAfters, ["3", undefined, "9", "9"]);
    assert.deepEqual(
      sandbox.received.map((received) => received.plaintext),
      ["n1"],
    );
    assert.equal((await send(requestFor(otherSubscription, "other"))).status, 201);
  });

  test("checks run before a scripted answer; clearScripts() forgets them", async () => {
    sandbox.script(subscription.id, { status: 201 });
    await expectRefusal(send(requestFor(subscription, "x"), { headers: { TTL: undefined } }), 400);
    sandbox.script(subscription.id, { status: 410 });
    await expectRefusal(send(requestFor(subscription, "x")), 410);
    sandbox.clearScripts();
    assert.equal((await send(requestFor(subscription, "x"))).status, 201);
  });

  test("a delayed answer does not hold up others; reset drops the connection", async () => {
    sandbox.script(subscription.id, { status: 201, delayMs: 150 });
    const order: string[] = [];
    const slow = send(requestFor(subscription, "slow")).then(() => order.push("slow"));
    const fast = send(requestFor(otherSubscription, "fast")).then(() => order.push("fast"));
    await Promise.all([slow, fast]);
    assert.deepEqual(order, ["fast", "slow"]);
    assert.deepEqual(
      sandbox.received.map((received) => received.plaintext),
      ["fast", "slow"],
    );
    sandbox.script(subscription.id, { status: 201, reset: true });
    await assert.rejects(send(requestFor(subscription, "x")), /socket hang up|ECONNRESET/);
  });

  test("errorRate 1 answers 503; resetRate 1 resets; reset() clears faults and counters", async () => {
    sandbox.faults = { errorRate: 1, latencyMs: [1, 5] };
    await expectRefusal(send(requestFor(subscription, "x")), 503);
    sandbox.faults = { resetRate: 1 };
    await assert.rejects(send(requestFor(subscription, "x")), /socket hang up|ECONNRESET/);
    assert.equal(sandbox.received.length, 0);
    assert.equal(sandbox.requests, 2);
    sandbox.reset();
    assert.deepEqual([sandbox.faults, sandbox.requests], [{}, 0]);
    assert.equal((await send(requestFor(subscription, "x"))).status, 201);
  });

  test("close() finishes while requests hang", async () => {
    const doomed = await WebPushSandbox.start({ ca });
    const target = doomed.createSubscription();
    doomed.faults = { hangRate: 1 };
    const hung = assert.rejects(send(requestFor(target, "never answered")));
    await waitFor("the hung requests at the sandbox", () => doomed.requests >= 1);
    await within("close() with requests hanging", doomed.close());
    await hung;
    assert.equal(doomed.received.length, 0);
  });
});
