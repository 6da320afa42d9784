/** The APNs sandbox answers like Apple over real HTTP/2 + TLS: checks, auth, scripts, faults, GOAWAY, shutdown. */
import assert from "node:assert/strict";
import { once } from "node:events";
import type { ClientHttp2Session } from "node:http2";
import { after, before, beforeEach, describe, test } from "node:test";
import { ApnsSandbox, type ReceivedPush } from "../../src/sandbox/apns.js";
import { createSandboxCa, type SandboxCa } from "../../src/sandbox/ca.js";
import { connect, makeSigningKey, reasonOf, send, signJwt, type PushRequest } from "./apnsClient.js";
import { waitFor, within } from "../helpers/waitFor.js";

const TOPIC = "com.example.app";
const TOKEN = "00fc13adff785122b4ad28809a3420982341241421348097878e577c991de8f0";
const OTHER_TOKEN = "11fc13adff785122b4ad28809a3420982341241421348097878e577c991de8f1";
const PAYLOAD = JSON.stringify({ aps: { alert: "hello" } });
const MINUTE_MS = 60_000;

const signer = makeSigningKey("KEY1234567", "TEAM123456");
const stranger = makeSigningKey("KEY1234567", "TEAM123456"); // same ids, different key pair

let ca: SandboxCa;
let sandbox: ApnsSandbox;
let client: ClientHttp2Session;
let clockMs = Date.now();
let jwt: string;

const seconds = (ms: number) => Math.floor(ms / 1000);

function push(overrides: Partial<PushRequest> & { token?: string } = {}): PushRequest {
  return {
    path: `/3/device/${overrides.token ?? TOKEN}`,
    body: PAYLOAD,
    ...overrides,
    headers: { authorization: `bearer ${jwt}`, "apns-topic": TOPIC, ...overrides.headers },
  };
}

async function expectRefusal(request: PushRequest, status: number, reason: string): Promise<void> {
  const response = await send(client, request);
  assert.equal(response.status, status, response.body);
  assert.equal(reasonOf(response), reason);
  assert.equal(response.headers["content-type"], "application/json");
}

before(async () => {
  ca = await createSandboxCa();
  sandbox = await ApnsSandbox.start({ ca, keys: [signer.key], topics: [TOPIC], now: () => clockMs });
  client = await connect(sandbox.url, ca.certPem);
});

after(async () => {
  client.close();
  await sandbox.close();
});

// Each test has its own connection: Apple (and the sandbox) track the JWT in use per connection.
beforeEach(async () => {
  sandbox.reset();
  clockMs = Date.now();
  jwt = signJwt(signer, seconds(clockMs));
  client.close();
  client = await connect(sandbox.url, ca.certPem);
});

describe("a valid push", () => {
  test("gets 200, is recorded with its headers and payload, and emits 'push'", async () => {
    const apnsId = "7c7e1b3a-0d3e-4f5a-9b1c-2d3e4f5a6b7c";
    const emitted = once(sandbox, "push") as Promise<[ReceivedPush]>;
    const response = await send(
      client,
      push({
        headers: {
          "apns-id": apnsId,
          "apns-priority": "10",
          "apns-push-type": "alert",
          "apns-expiration": "0",
          "apns-collapse-id": "room-1",
        },
      }),
    );
    assert.equal(response.status, 200);
    assert.equal(response.headers["apns-id"], apnsId);
    assert.equal(response.body, "");
    assert.equal(sandbox.received.length, 1);
    const [received] = sandbox.received;
    assert.deepEqual(received, {
      token: TOKEN,
      topic: TOPIC,
      priority: "10",
      pushType: "alert",
      apnsId,
      expiration: "0",
      collapseId: "room-1",
      auth: { kind: "token", keyId: signer.key.keyId, teamId: signer.key.teamId },
      payload: { aps: { alert: "hello" } },
      body: PAYLOAD,
      receivedAt: clockMs,
    });
    assert.equal((await emitted)[0], received);
    assert.equal(sandbox.requests, 1);
  });

  test("without an apns-id the answer carries a fresh UUID", async () => {
    const response = await send(client, push());
    assert.match(String(response.headers["apns-id"]), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(sandbox.received[0]?.apnsId, undefined);
  });

  test("VoIP pushes may be larger than 4096 bytes", async () => {
    const body = JSON.stringify({ data: "x".repeat(5000) });
    const response = await send(client, push({ body, headers: { "apns-push-type": "voip" } }));
    assert.equal(response.status, 200);
  });
});

describe("token authentication", () => {
  const now = () => seconds(clockMs);

  test("no bearer token: 403 MissingProviderToken", async () => {
    await expectRefusal(push({ headers: { authorization: undefined } }), 403, "MissingProviderToken");
    await expectRefusal(push({ headers: { authorization: `basic ${jwt}` } }), 403, "MissingProviderToken");
  });

  test("a JWT that is not ES256 by a known key and team: 403 InvalidProviderToken", async () => {
    const invalid = [
      signJwt(signer, now(), { kid: "UNKNOWNKEY" }),
      signJwt(signer, now(), { iss: "OTHERTEAM1" }),
      signJwt(signer, now(), { alg: "HS256" }),
      signJwt(stranger, now()),
      "not.a.jwt",
      "garbage",
    ];
    for (const token of invalid) {
      await expectRefusal(push({ headers: { authorization: `bearer ${token}` } }), 403, "InvalidProviderToken");
    }
  });

  test("a JWT older than 60 minutes by the sandbox clock: 403 ExpiredProviderToken", async () => {
    assert.equal((await send(client, push())).status, 200);
    clockMs += 59 * MINUTE_MS;
    assert.equal((await send(client, push())).status, 200);
    clockMs += 2 * MINUTE_MS;
    await expectRefusal(push(), 403, "ExpiredProviderToken");
  });

  test("a new JWT less than 20 minutes after the previous one: 429 TooManyProviderTokenUpdates", async () => {
    assert.equal((await send(client, push())).status, 200);
    const renewed = signJwt(signer, now() + 60);
    await expectRefusal(push({ headers: { authorization: `bearer ${renewed}` } }), 429, "TooManyProviderTokenUpdates");
    clockMs += 21 * MINUTE_MS;
    assert.equal((await send(client, push({ headers: { authorization: `bearer ${renewed}` } }))).status, 200);
  });

  test("another connection may use another JWT of the same key: the limit is per connection", async () => {
    assert.equal((await send(client, push())).status, 200);
    const other = await connect(sandbox.url, ca.certPem);
    try {
      const renewed = signJwt(signer, now() + 60);
      assert.equal((await send(other, push({ headers: { authorization: `bearer ${renewed}` } }))).status, 200);
    } finally {
      other.close();
    }
  });

  test("the topic is required and must be one of the configured topics", async () => {
    await expectRefusal(push({ headers: { "apns-topic": undefined } }), 400, "MissingTopic");
    await expectRefusal(push({ headers: { "apns-topic": "com.example.other" } }), 400, "TopicDisallowed");
  });

  test("auth runs before a scripted answer", async () => {
    sandbox.script(TOKEN, { status: 200 });
    clockMs += 61 * MINUTE_MS;
    await expectRefusal(push(), 403, "ExpiredProviderToken");
  });
});

describe("client certificate authentication", () => {
  async function sendWithCertificate(certificate: { certPem: string; keyPem: string }, topic?: string) {
    const session = await connect(sandbox.url, ca.certPem, certificate);
    try {
      return await send(session, { path: `/3/device/${TOKEN}`, body: PAYLOAD, headers: { "apns-topic": topic } });
    } finally {
      session.close();
    }
  }

  test("a certificate of the sandbox CA authenticates; its UID is the only allowed topic", async () => {
    const certificate = await ca.issueClientCertificate({ uid: "com.example.voip" });
    assert.equal((await sendWithCertificate(certificate)).status, 200);
    assert.equal((await sendWithCertificate(certificate, "com.example.voip")).status, 200);
    assert.deepEqual(sandbox.received[0]?.auth, { kind: "certificate", uid: "com.example.voip" });
    const refused = await sendWithCertificate(certificate, TOPIC);
    assert.equal(refused.status, 400);
    assert.equal(reasonOf(refused), "TopicDisallowed");
  });

  test("a certificate from another CA, or an expired one: 403 BadCertificate", async () => {
    const otherCa = await createSandboxCa();
    const foreign = await otherCa.issueClientCertificate({ uid: TOPIC });
    const expired = await ca.issueClientCertificate({ uid: TOPIC }, -1);
    for (const certificate of [foreign, expired]) {
      const response = await sendWithCertificate(certificate, TOPIC);
      assert.equal(response.status, 403);
      assert.equal(reasonOf(response), "BadCertificate");
    }
  });
});

describe("request checks", () => {
  test("path and method", async () => {
    await expectRefusal(push({ path: "/3/devices/abc" }), 404, "BadPath");
    await expectRefusal(push({ path: "/3/device/" }), 404, "BadPath");
    await expectRefusal(push({ method: "PUT" }), 405, "MethodNotAllowed");
  });

  test("apns-priority, apns-push-type and apns-id", async () => {
    await expectRefusal(push({ headers: { "apns-priority": "7" } }), 400, "BadPriority");
    await expectRefusal(push({ headers: { "apns-push-type": "loud" } }), 400, "InvalidPushType");
    await expectRefusal(push({ headers: { "apns-id": "not-a-uuid" } }), 400, "BadMessageId");
  });

  test("a device token that is not hexadecimal: 400 BadDeviceToken", async () => {
    await expectRefusal(push({ token: "not-hex" }), 400, "BadDeviceToken");
  });

  test("the payload: empty, over 4096 bytes, not a JSON object", async () => {
    await expectRefusal(push({ body: "" }), 400, "PayloadEmpty");
    await expectRefusal(push({ body: JSON.stringify({ data: "x".repeat(4090) }) }), 413, "PayloadTooLarge");
    await expectRefusal(push({ body: "x".repeat(100_000) }), 413, "PayloadTooLarge");
    await expectRefusal(push({ body: "[1]" }), 400, "BadPayload");
    await expectRefusal(push({ body: "{" }), 400, "BadPayload");
    assert.equal(sandbox.received.length, 0);
    assert.equal(sandbox.requests, 5);
  });
});

describe("scripted answers", () => {
  test("are used in order, the last one repeating, with Retry-After and the 410 timestamp", async () => {
    sandbox.script(
      TOKEN,
      { status: 429, reason: "TooManyRequests", retryAfter: 3 },
      { status: 200 },
      { status: 410, reason: "Unregistered" },
    );
    const first = await send(client, push());
    assert.equal(first.status, 429);
    assert.equal(first.headers["retry-after"], "3");
    assert.equal(reasonOf(first), "TooManyRequests");
    assert.equal((await send(client, push())).status, 200);
    for (let i = 0; i < 2; i++) {
      const gone = await send(client, push());
      assert.equal(gone.status, 410);
      assert.deepEqual(JSON.parse(gone.body), { reason: "Unregistered", timestamp: clockMs });
    }
    assert.equal(sandbox.received.length, 1);
    assert.equal((await send(client, push({ token: OTHER_TOKEN }))).status, 200);
  });

  test("a delayed answer does not hold up other streams", async () => {
    sandbox.script(TOKEN, { status: 200, delayMs: 200 });
    const order: string[] = [];
    const slow = send(client, push()).then(() => order.push("slow"));
    const fast = send(client, push({ token: OTHER_TOKEN })).then(() => order.push("fast"));
    await Promise.all([slow, fast]);
    assert.deepEqual(order, ["fast", "slow"]);
  });

  test("reset answers RST_STREAM", async () => {
    sandbox.script(TOKEN, { status: 200, reset: true });
    await assert.rejects(send(client, push()), /NGHTTP2_INTERNAL_ERROR/);
  });

  test("reset() forgets received pushes, counters, scripts and faults", async () => {
    await send(client, push());
    sandbox.script(TOKEN, { status: 503, reason: "ServiceUnavailable" });
    sandbox.faults = { errorRate: 1 };
    sandbox.reset();
    assert.equal(sandbox.received.length, 0);
    assert.equal(sandbox.requests, 0);
    assert.deepEqual(sandbox.faults, {});
    assert.equal((await send(client, push())).status, 200);
  });
});

describe("fault mix", () => {
  test("errorRate 1 answers 500 InternalServerError", async () => {
    sandbox.faults = { errorRate: 1, latencyMs: [1, 5] };
    await expectRefusal(push(), 500, "InternalServerError");
  });

  test("goawayEvery refuses the Nth request of a session with GOAWAY", async () => {
    const session = await connect(sandbox.url, ca.certPem);
    sandbox.faults = { goawayEvery: 3 };
    const goaway = once(session, "goaway");
    assert.equal((await send(session, push())).status, 200);
    assert.equal((await send(session, push())).status, 200);
    await assert.rejects(send(session, push()), /NGHTTP2_REFUSED_STREAM/);
    const [, lastStreamId] = (await goaway) as [number, number];
    assert.equal(lastStreamId, 3);
    assert.equal(sandbox.received.length, 2);
  });
});

describe("GOAWAY", () => {
  test("a scripted goaway refuses its stream and later ones; earlier streams still get their answers", async () => {
    const session = await connect(sandbox.url, ca.certPem);
    const LATER_TOKEN = "22fc13adff785122b4ad28809a3420982341241421348097878e577c991de8f2";
    sandbox.script(OTHER_TOKEN, { status: 200, delayMs: 100 });
    sandbox.script(TOKEN, { status: 200, goaway: true });
    sandbox.script(LATER_TOKEN, { status: 200, delayMs: 50 });
    const goaway = once(session, "goaway") as Promise<[number, number]>;
    const closed = once(session, "close");
    const earlier = send(session, push({ token: OTHER_TOKEN }));
    const refused = send(session, push());
    const later = send(session, push({ token: LATER_TOKEN }));
    await assert.rejects(refused, /NGHTTP2_REFUSED_STREAM/);
    await assert.rejects(later, /NGHTTP2_REFUSED_STREAM/);
    const [code, lastStreamId] = await goaway;
    assert.deepEqual([code, lastStreamId], [0, 1]);
    assert.equal((await earlier).status, 200);
    assert.deepEqual(
      sandbox.received.map((received) => received.token),
      [OTHER_TOKEN],
    );
    await closed;
  });

  test("goawayAll() closes every session gracefully", async () => {
    // A sandbox of its own: goawayAll() would also close the connection the other tests share.
    const closing = await ApnsSandbox.start({ ca, keys: [signer.key], now: () => clockMs });
    try {
      const sessions = [await connect(closing.url, ca.certPem), await connect(closing.url, ca.certPem)];
      closing.script(TOKEN, { status: 200, delayMs: 100 });
      const inFlight = send(sessions[0]!, push());
      await waitFor("the request at the sandbox", () => closing.requests > 0);
      const goaways = sessions.map((session) => once(session, "goaway") as Promise<[number]>);
      closing.goawayAll();
      for (const [code] of await Promise.all(goaways)) assert.equal(code, 0);
      assert.equal((await inFlight).status, 200);
    } finally {
      await closing.close();
    }
  });
});

describe("concurrency and shutdown", () => {
  test("parallel requests share a session; the peak of open streams is tracked", async () => {
    sandbox.script(TOKEN, { status: 200, delayMs: 50 });
    const statuses = await Promise.all([1, 2, 3, 4].map(() => send(client, push()).then((r) => r.status)));
    assert.deepEqual(statuses, [200, 200, 200, 200]);
    assert.equal(sandbox.peakConcurrentStreams, 4);
  });

  test("maxConcurrentStreams 1 is advertised and honoured", async () => {
    const narrow = await ApnsSandbox.start({ ca, keys: [signer.key], maxConcurrentStreams: 1, now: () => clockMs });
    const session = await connect(narrow.url, ca.certPem);
    try {
      assert.equal(session.remoteSettings.maxConcurrentStreams, 1);
      narrow.script(TOKEN, { status: 200, delayMs: 20 });
      const statuses = await Promise.all([1, 2, 3, 4].map(() => send(session, push()).then((r) => r.status)));
      assert.deepEqual(statuses, [200, 200, 200, 200]);
      assert.equal(narrow.peakConcurrentStreams, 1);
      assert.equal(narrow.sessionsOpened, 1);
    } finally {
      session.close();
      await narrow.close();
    }
  });

  test("close() finishes while a stream hangs", async () => {
    const doomed = await ApnsSandbox.start({ ca, keys: [signer.key], now: () => clockMs });
    const session = await connect(doomed.url, ca.certPem);
    doomed.script(TOKEN, { status: 200, hang: true });
    const hung = send(session, push());
    await waitFor("the hung request at the sandbox", () => doomed.requests > 0);
    await within("close() with requests hanging", doomed.close());
    await assert.rejects(hung);
  });
});
