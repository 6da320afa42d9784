/**
 * push-relay's `POST /push` over real sockets, against the sandbox APNs (one for each APNs environment), FCM with its
 * Google token endpoint, and Huawei Push Kit: each validation rule with push-relay's text and status, what each
 * sandbox receives, and the answer to each provider outcome.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import type { ApnsSandbox } from "../../src/sandbox/apns.js";
import { SANDBOX_FCM, startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { rawRequest, startTestHerald, testApp, type TestHerald } from "../helpers/herald.js";
import { closedPort } from "../helpers/ports.js";
import { pushRelaySection, startApnsEndpoints } from "./sandboxConfig.js";

const BUNDLE = "ch.threema.webclient.test";
/** A bundle id the sandbox APNs knows too, which only UTF-8 headers carry intact. */
const UNICODE_BUNDLE = "ch.threema.wébclient€";
const HMS_APP = "hms-app";
const DEADLINE_S = 3;
const FORM = "application/x-www-form-urlencoded";

let sandbox: Sandbox;
let production: ApnsSandbox;
let apnsSandbox: ApnsSandbox;
let herald: TestHerald;
let counter = 0;
const unique = (prefix: string) => `${prefix}${++counter}`;
/** APNs tokens are hex; the sandbox scripts them by their lowercase form. */
const apnsToken = () => `c0ffee${String(++counter).padStart(58, "0")}`;

/** `contentType` null: no Content-Type header. */
async function push(body: string | Buffer, contentType: string | null = FORM) {
  const res = await rawRequest(herald.url, {
    method: "POST",
    path: "/push",
    body,
    headers: contentType === null ? {} : { "content-type": contentType },
  });
  return { status: res.status, body: res.body, type: res.headers["content-type"] };
}

const form = (params: Record<string, string>) => new URLSearchParams(params).toString();
const fcm = (extra: Record<string, string> = {}) => form({ type: "fcm", session: "s", version: "3", ...extra });
const apns = (token: string, extra: Record<string, string> = {}) =>
  form({ type: "apns", token, session: "s", version: "3", bundleid: BUNDLE, endpoint: "p", ...extra });
const hms = (token: string, extra: Record<string, string> = {}) =>
  form({ type: "hms", appid: HMS_APP, token, session: "s", version: "3", ...extra });
/** A Threema user the sandbox gateway knows, and the /push form that wakes them. */
function threemaUser(extra: Record<string, string> = {}) {
  const user = sandbox.threema.createRecipient();
  const body = form({
    type: "threema-gateway",
    identity: user.identity,
    public_key: user.publicKeyHex,
    session: "s",
    version: "3",
    ...extra,
  });
  return { user, body };
}

async function assertAnswer(body: string | Buffer, status: number) {
  const res = await push(body);
  assert.equal(res.status, status);
  assert.equal(res.type, "text/plain");
  assert.equal(res.body, status === 204 ? "" : "Push not successful");
}

before(async () => {
  sandbox = await startSandbox();
  ({ production, development: apnsSandbox } = await startApnsEndpoints(sandbox, [
    BUNDLE,
    `${BUNDLE}.voip`,
    UNICODE_BUNDLE,
  ]));
  const hmsApp = sandbox.hms.createApp(HMS_APP);
  const hmsSection = {
    client_id: hmsApp.clientId,
    client_secret: hmsApp.clientSecret,
    endpoint: sandbox.hms.url,
    token_endpoint: sandbox.hms.tokenUrl,
    ca: sandbox.files.ca,
  };
  const section = pushRelaySection(
    sandbox,
    { production, development: apnsSandbox },
    {
      [HMS_APP]: hmsSection,
      "hms-voip": { ...hmsSection, high_priority: true },
      "hms-down": { ...hmsSection, endpoint: await closedPortUrl(), token_endpoint: `${await closedPortUrl()}/t` },
    },
  );
  herald = await startTestHerald({
    request_deadline: DEADLINE_S,
    metrics: { prometheus: { enabled: true, address: "127.0.0.1", port: 0 } },
    push_relay: {
      ...section,
      fcm: { ...section.fcm, max_retries: 6 },
    },
  });
});
after(async () => {
  await herald.stop();
  await Promise.all([sandbox.close(), production.close(), apnsSandbox.close()]);
});
afterEach(() => {
  sandbox.fcm.reset();
  sandbox.hms.reset();
  sandbox.threema.reset();
  production.reset();
  apnsSandbox.reset();
});

/** An https URL where nothing listens. */
async function closedPortUrl(): Promise<string> {
  return `https://127.0.0.1:${await closedPort()}`;
}

describe("validation, in push-relay's order and with its texts", () => {
  const key = "0".repeat(64);
  const rows: [string, string, string | null][] = [
    ["no content type", "token=t&session=s&version=1", null],
    ["another content type", "token=t&session=s&version=1", "text/plain"],
    ["no parameters", "", FORM],
    ["only separators", "&&&", FORM],
    ["an unknown type", "type=gcm2&token=t&session=s&version=1", FORM],
    ["fcm (the default type) without token", "session=s&version=1", FORM],
    ["gcm without token", "type=gcm&session=s&version=1", FORM],
    ["apns without token", "type=apns&session=s&version=1&bundleid=b&endpoint=p", FORM],
    ["hms without token", "type=hms&appid=a&session=s&version=1", FORM],
    ["hms without appid", "type=hms&token=t&session=s&version=1", FORM],
    ["threema-gateway without identity", `type=threema-gateway&public_key=${key}&session=s&version=1`, FORM],
    ["an identity of 7 bytes", `type=threema-gateway&identity=ECHOECH&public_key=${key}&session=s&version=1`, FORM],
    [
      "an identity of 8 characters but 9 bytes",
      `type=threema-gateway&identity=ECHOECHÖ&public_key=${key}&session=s&version=1`,
      FORM,
    ],
    [
      "an identity starting with *",
      `type=threema-gateway&identity=*3MAPUSH&public_key=${key}&session=s&version=1`,
      FORM,
    ],
    [
      "an invalid identity before a missing public key",
      "type=threema-gateway&identity=*3MAPUSH&session=s&version=1",
      FORM,
    ],
    ["threema-gateway without public_key", "type=threema-gateway&identity=ECHOECHO&session=s&version=1", FORM],
    [
      "a public key of 63 hex digits",
      `type=threema-gateway&identity=ECHOECHO&public_key=${key.slice(1)}&session=s&version=1`,
      FORM,
    ],
    [
      "a public key that is not hex",
      `type=threema-gateway&identity=ECHOECHO&public_key=${"g".repeat(64)}&session=s&version=1`,
      FORM,
    ],
    ["no session", "token=t&version=1", FORM],
    ["no version", "token=t&session=s", FORM],
    ["a version that is not a number", "token=t&session=s&version=v3", FORM],
    ["a version over 65535", "token=t&session=s&version=65536", FORM],
    ["a negative version", "token=t&session=s&version=-1", FORM],
    ["a ttl that is not a number", "token=t&session=s&version=1&ttl=1.5", FORM],
    ["a ttl over u32", "token=t&session=s&version=1&ttl=9999999999999999", FORM],
    ["apns without bundleid", "type=apns&token=t&session=s&version=1&endpoint=p", FORM],
    ["apns without endpoint", "type=apns&token=t&session=s&version=1&bundleid=b", FORM],
    ["apns with endpoint q", "type=apns&token=t&session=s&version=1&bundleid=jklö&endpoint=q", FORM],
    [
      "a collapse id over 64 bytes",
      `type=apns&token=t&session=s&version=1&bundleid=b&endpoint=p&collapse_key=${"k".repeat(59)}`,
      FORM,
    ],
    ["an invalid type before a missing token", "type=x&session=s", FORM],
    ["a missing token before a missing session", "type=fcm&version=x", FORM],
    ["a missing session before an invalid ttl", "token=t&version=1&ttl=x", FORM],
    ["a missing bundleid after an invalid ttl", "type=apns&token=t&session=s&version=1&ttl=x", FORM],
  ];
  const expected: Record<string, string> = {
    "no content type": "Missing content type",
    "another content type": "Invalid content type: text/plain",
    "an unknown type": "Invalid parameters",
    "an identity of 7 bytes": "Invalid parameters",
    "an identity of 8 characters but 9 bytes": "Invalid parameters",
    "an identity starting with *": "Invalid parameters",
    "an invalid identity before a missing public key": "Invalid parameters",
    "a public key of 63 hex digits": "Invalid parameters",
    "a public key that is not hex": "Invalid parameters",
    "a version that is not a number": "Invalid parameters",
    "a version over 65535": "Invalid parameters",
    "a negative version": "Invalid parameters",
    "a ttl that is not a number": "Invalid parameters",
    "a ttl over u32": "Invalid parameters",
    "apns with endpoint q": "Invalid parameters",
    "a collapse id over 64 bytes": "Invalid parameters",
    "an invalid type before a missing token": "Invalid parameters",
    "a missing session before an invalid ttl": "Missing parameters",
    "a missing bundleid after an invalid ttl": "Invalid parameters",
  };
  for (const [what, body, contentType] of rows) {
    const message = expected[what] ?? "Missing parameters";
    test(`${what}: 400 ${message}`, async () => {
      const res = await push(body, contentType);
      assert.equal(res.status, 400);
      assert.equal(res.body, message);
      assert.equal(res.type, "text/plain; charset=utf-8");
      assert.equal(sandbox.fcm.requests + production.requests + apnsSandbox.requests + sandbox.hms.requests, 0);
    });
  }
  test("a collapse id of exactly 64 bytes is accepted", async () => {
    await assertAnswer(apns(apnsToken(), { collapse_key: "k".repeat(58) }), 204);
    assert.equal(production.received[0]?.collapseId, `relay.${"k".repeat(58)}`);
  });
  test("apns: a bundleid or collapse_key no HTTP header can carry is 400 Invalid parameters, nothing sent", async () => {
    const controls = ["a\nb", "a\r\nX-Injected: 1", "a\u0000b", "a\u0001", "a\u007f"];
    const cases: Record<string, string>[] = [
      ...controls.flatMap((value): Record<string, string>[] => [{ bundleid: value }, { collapse_key: value }]),
      // At either end of the value as sent: the collapse id is `relay.<key>`.
      { bundleid: "trailing " },
      { bundleid: "\tleading" },
      { collapse_key: "trailing\t" },
    ];
    for (const extra of cases) {
      const res = await push(apns(apnsToken(), extra));
      assert.equal(res.status, 400, `${JSON.stringify(extra)}: ${res.status} ${res.body}`);
      assert.equal(res.body, "Invalid parameters");
      assert.equal(res.type, "text/plain; charset=utf-8");
    }
    assert.equal(production.requests, 0);
  });
  test("apns: a non-ASCII bundleid and collapse_key are sent as UTF-8", async () => {
    await assertAnswer(apns(apnsToken(), { bundleid: UNICODE_BUNDLE, collapse_key: "clé€😀" }), 204);
    assert.equal(production.received[0]?.topic, UNICODE_BUNDLE);
    assert.equal(production.received[0]?.collapseId, "relay.clé€😀");
  });
  test("for a key given twice, the first value wins", async () => {
    const token = unique("fcm-token-first-");
    await assertAnswer(`type=fcm&token=${token}&token=second-token-x&session=s1&session=s2&version=3&version=x`, 204);
    const [message] = sandbox.fcm.received;
    assert.equal(message?.token, token);
    assert.equal((message?.message.data as Record<string, string>).wcs, "s1");
  });
  test("a body that is not UTF-8 is read with U+FFFD, not refused", async () => {
    const body = Buffer.concat([
      Buffer.from(`type=fcm&token=${unique("fcm-token-")}&version=3&session=`),
      Buffer.of(0xff),
    ]);
    await assertAnswer(body, 204);
    assert.equal((sandbox.fcm.received[0]?.message.data as Record<string, string>).wcs, "\ufffd");
  });
  test("a body over 64 KiB: 413", async () => {
    const res = await push(`token=t&session=s&version=1&pad=${"x".repeat(64 * 1024)}`);
    assert.equal(res.status, 413);
  });
});

describe("what the providers receive", () => {
  test("FCM: push-relay's v1 message, data values as strings", async () => {
    const token = unique("fcm-token-");
    const before = Math.floor(Date.now() / 1000);
    await assertAnswer(fcm({ token, ttl: "120", collapse_key: "ck", affiliation: "aff" }), 204);
    const [received] = sandbox.fcm.received;
    assert.ok(received);
    assert.equal(received.projectId, SANDBOX_FCM.projectId);
    const data = received.message.data as Record<string, string>;
    assert.ok(Number(data.wct) >= before && Number(data.wct) <= before + 5);
    assert.deepEqual(received.message, {
      token,
      data: { wcs: "s", wca: "aff", wct: data.wct, wcv: "3" },
      android: { collapse_key: "relay.ck", priority: "HIGH", ttl: "120s" },
    });
  });

  test("APNs alert to the production endpoint, with push-relay's headers", async () => {
    const token = apnsToken();
    const before = Math.floor(Date.now() / 1000);
    await assertAnswer(apns(token, { collapse_key: "ck", ttl: "60" }), 204);
    assert.equal(apnsSandbox.received.length, 0);
    const [received] = production.received;
    assert.ok(received);
    assert.equal(received.token, token);
    assert.equal(received.topic, BUNDLE);
    assert.equal(received.priority, "10");
    assert.equal(received.pushType, "alert");
    assert.equal(received.collapseId, "relay.ck");
    assert.ok(Number(received.expiration) >= before + 60 && Number(received.expiration) <= before + 65);
    const payload = received.payload as { "3mw": { wct: number } };
    assert.deepEqual(payload, {
      aps: { alert: "Threema Web Wakeup", sound: "default", "mutable-content": 1 },
      "3mw": { wcs: "s", wct: payload["3mw"].wct, wcv: 3 },
    });
  });

  test("APNs VoIP to the sandbox endpoint: content-available, voip push type, ttl 0 is expiration 0", async () => {
    const token = apnsToken();
    await assertAnswer(apns(token, { bundleid: `${BUNDLE}.voip`, endpoint: "s", ttl: "0", affiliation: "a" }), 204);
    assert.equal(production.received.length, 0);
    const [received] = apnsSandbox.received;
    assert.ok(received);
    assert.equal(received.topic, `${BUNDLE}.voip`);
    assert.equal(received.pushType, "voip");
    assert.equal(received.expiration, "0");
    assert.equal(received.collapseId, undefined);
    const payload = received.payload as { "3mw": { wct: number } };
    assert.deepEqual(payload, {
      aps: { "content-available": 1, "mutable-content": 0 },
      "3mw": { wcs: "s", wca: "a", wct: payload["3mw"].wct, wcv: 3 },
    });
  });

  test("HMS: the ThreemaPayload as a data string with numbers, NORMAL urgency, no collapse key", async () => {
    const token = unique("hms-token-");
    await assertAnswer(hms(token, { collapse_key: "ck", ttl: "30" }), 204);
    const [received] = sandbox.hms.received;
    assert.ok(received);
    assert.equal(received.appId, HMS_APP);
    const data = received.data as { wct: number };
    assert.deepEqual(received.data, { wcs: "s", wct: data.wct, wcv: 3 });
    assert.equal(typeof received.message.data, "string");
    assert.deepEqual(received.message.android, { urgency: "NORMAL", ttl: "30s" });
    assert.deepEqual(received.message.token, [token]);
  });

  test("HMS with high_priority: HIGH urgency and the VOIP category", async () => {
    await assertAnswer(hms(unique("hms-token-"), { appid: "hms-voip" }), 204);
    assert.deepEqual(sandbox.hms.received[0]?.message.android, { urgency: "HIGH", category: "VOIP", ttl: "90s" });
  });
  test("Threema Gateway: the ThreemaPayload with numbers, in push-relay's plaintext, boxed for the recipient", async () => {
    const { user, body } = threemaUser({ affiliation: "aff" });
    await assertAnswer(body, 204);
    const [message] = sandbox.threema.received;
    assert.ok(message);
    assert.equal(message.from, sandbox.threemaAccount.identity);
    assert.equal(message.to, user.identity);
    assert.equal(message.type, 0xfe);
    const payload = message.json as Record<string, unknown>;
    assert.deepEqual(Object.keys(payload), ["wcs", "wca", "wct", "wcv"]);
    assert.equal(payload.wcs, "s");
    assert.equal(payload.wca, "aff");
    assert.equal(typeof payload.wct, "number");
    assert.equal(payload.wcv, 3);
    assert.deepEqual(message.padding, Buffer.of(1));
    assert.equal(message.fields.noPush, "1");
    assert.equal(message.fields.noDeliveryReceipts, "1");
  });
});

describe("the answer to each provider outcome", () => {
  test("APNs: a dead token (410 Unregistered, 400 BadDeviceToken) is 400", async () => {
    const gone = apnsToken();
    production.script(gone, { status: 410, reason: "Unregistered" });
    await assertAnswer(apns(gone), 400);
    const bad = apnsToken();
    production.script(bad, { status: 400, reason: "BadDeviceToken" });
    await assertAnswer(apns(bad), 400);
  });
  test("APNs: a token with /, ?, #, % or a space stays in the path: Apple sees it whole (BadDeviceToken, 400)", async () => {
    for (const suffix of ["/x", "?x", "#x", "%2F", " x", "/../../x"]) {
      const token = `${apnsToken()}${suffix}`;
      production.reset();
      await assertAnswer(apns(token), 400);
      assert.equal(production.requests, 1, `${JSON.stringify(token)}: one request, not retried`);
      assert.equal(production.received.length, 0, `${JSON.stringify(token)} reached another device`);
    }
  });
  test("APNs: an empty token is a bad token, 400 without asking Apple and without an error logged", async () => {
    const errors = herald.logs.filter((line) => Number(line.level) >= 50).length;
    await assertAnswer(apns(""), 400);
    assert.equal(production.requests, 0);
    assert.equal(herald.logs.filter((line) => Number(line.level) >= 50).length, errors);
  });
  test("APNs: a token too long to be a device token (60,000 hex digits) is 400 without asking Apple", async () => {
    // Its request path would be larger than any HTTP/2 server takes: the stream is reset, again at every retry.
    await assertAnswer(apns("ab".repeat(30_000)), 400);
    assert.equal(production.requests, 0);
  });
  test("APNs: a topic the key may not use (TopicDisallowed) is 400, as in push-relay", async () => {
    await assertAnswer(apns(apnsToken(), { bundleid: "org.example.other" }), 400);
  });
  test("APNs: another client error (PayloadTooLarge) is 502, not retried", async () => {
    const token = apnsToken();
    production.script(token, { status: 413, reason: "PayloadTooLarge" });
    await assertAnswer(apns(token), 502);
    assert.equal(production.requests, 1);
  });
  test("APNs: 500 is retried, then 502", async () => {
    const token = apnsToken();
    production.script(token, { status: 500, reason: "InternalServerError" });
    await assertAnswer(apns(token), 502);
    assert.equal(production.requests, 3);
  });
  test("APNs: 503 then 200 is delivered", async () => {
    const token = apnsToken();
    production.script(token, { status: 503, reason: "ServiceUnavailable" }, { status: 200 });
    await assertAnswer(apns(token), 204);
    assert.equal(production.requests, 2);
  });
  test("APNs: a reset stream is retried, then 502", async () => {
    const token = apnsToken();
    production.script(token, { status: 200, reset: true });
    await assertAnswer(apns(token), 502);
  });
  test("APNs: no answer at all is a 502 at the deadline", async () => {
    const token = apnsToken();
    production.script(token, { status: 200, hang: true });
    const started = Date.now();
    await assertAnswer(apns(token), 502);
    assert.ok(Date.now() - started >= DEADLINE_S * 1000 - 100, "answered when the deadline passed, not before");
  });

  test("FCM: 404 UNREGISTERED and 400 INVALID_ARGUMENT are 400", async () => {
    const gone = unique("fcm-token-");
    sandbox.fcm.script(gone, { status: 404 });
    await assertAnswer(fcm({ token: gone }), 400);
    const invalid = unique("fcm-token-");
    sandbox.fcm.script(invalid, { status: 400, errorCode: "INVALID_ARGUMENT", message: "Invalid TTL" });
    await assertAnswer(fcm({ token: invalid }), 400);
  });
  test("FCM: 401 twice (a new access token refused too) is 400, as push-relay answers 401", async () => {
    const token = unique("fcm-token-");
    sandbox.fcm.script(token, { status: 401 });
    await assertAnswer(fcm({ token }), 400);
  });
  test("FCM: 403 SENDER_ID_MISMATCH is 502", async () => {
    const token = unique("fcm-token-");
    sandbox.fcm.script(token, { status: 403 });
    await assertAnswer(fcm({ token }), 502);
  });
  test("FCM: 503 is retried, then 502; 500 then 200 is delivered", async () => {
    const token = unique("fcm-token-");
    sandbox.fcm.script(token, { status: 503 });
    await assertAnswer(fcm({ token }), 502);
    assert.equal(sandbox.fcm.requests, 3);
    const later = unique("fcm-token-");
    sandbox.fcm.script(later, { status: 500 }, { status: 200 });
    await assertAnswer(fcm({ token: later }), 204);
  });

  test("HMS: 80300007 and 80100000 (invalid tokens) and an HTTP 400 are 400", async () => {
    const invalid = unique("hms-token-");
    sandbox.hms.script(invalid, { code: "80300007" });
    await assertAnswer(hms(invalid), 400);
    const partial = unique("hms-token-");
    sandbox.hms.script(partial, { code: "80100000" });
    await assertAnswer(hms(partial), 400);
    const params = unique("hms-token-");
    sandbox.hms.script(params, { httpStatus: 400, code: "80100001" });
    await assertAnswer(hms(params), 400);
  });
  test("HMS: an empty token is a bad token, 400 without asking Push Kit and without an error logged", async () => {
    const errors = herald.logs.filter((line) => Number(line.level) >= 50).length;
    await assertAnswer(hms(""), 400);
    assert.equal(sandbox.hms.requests, 0);
    assert.equal(herald.logs.filter((line) => Number(line.level) >= 50).length, errors);
  });
  test("HMS: 81000001 (Huawei's internal error) is 502", async () => {
    const token = unique("hms-token-");
    sandbox.hms.script(token, { code: "81000001" });
    await assertAnswer(hms(token), 502);
  });
  test("HMS: 80300008 (too large) is push-relay's own failure, 500", async () => {
    const token = unique("hms-token-");
    sandbox.hms.script(token, { code: "80300008" });
    await assertAnswer(hms(token), 500);
  });
  test("HMS: 503 (traffic control) is retried, then 502", async () => {
    const token = unique("hms-token-");
    sandbox.hms.script(token, { httpStatus: 503, code: "81000001" });
    await assertAnswer(hms(token), 502);
    assert.equal(sandbox.hms.requests, 3);
  });
  test("HMS: 80200003 (access token expired) gets a new access token, and the push is delivered", async () => {
    await assertAnswer(hms(unique("hms-token-")), 204);
    sandbox.hms.expireTokens();
    const issued = sandbox.hms.tokensIssued;
    await assertAnswer(hms(unique("hms-token-")), 204);
    assert.equal(sandbox.hms.tokensIssued - issued, 1);
  });
  test("HMS: credentials the token endpoint refuses are 500 (push-relay's RemoteAuth)", async () => {
    sandbox.hms.expireTokens();
    sandbox.hms.scriptTokenFailure(1, 400);
    await assertAnswer(hms(unique("hms-token-")), 500);
  });
  test("HMS: a Push Kit that cannot be reached is 502 (push-relay: 400)", async () => {
    await assertAnswer(hms(unique("hms-token-"), { appid: "hms-down" }), 502);
  });
  test("HMS: an appid with no section is 400", async () => {
    await assertAnswer(hms(unique("hms-token-"), { appid: "unknown-app" }), 400);
    assert.equal(sandbox.hms.requests, 0);
  });
  test("Threema Gateway: 200 is delivered; 400, 401, 402 and 413 are 502, as push-relay answers them", async () => {
    await assertAnswer(threemaUser().body, 204);
    for (const status of [400, 401, 402, 413]) {
      const { user, body } = threemaUser();
      sandbox.threema.script(user.identity, { status });
      await assertAnswer(body, 502);
    }
  });
  test("Threema Gateway: 500 is retried, then delivered", async () => {
    const { user, body } = threemaUser();
    sandbox.threema.script(user.identity, { status: 500 }, { status: 200 });
    await assertAnswer(body, 204);
    assert.equal(sandbox.threema.received.length, 1);
  });
  test("Threema Gateway: an unexpected status (404) is push-relay's own failure, 500", async () => {
    const { user, body } = threemaUser();
    sandbox.threema.script(user.identity, { status: 404 });
    await assertAnswer(body, 500);
  });
  test("Threema Gateway: a recipient unknown to the gateway is 502", async () => {
    const body = form({
      type: "threema-gateway",
      identity: "UNKNOWN1",
      public_key: "ab".repeat(32),
      session: "s",
      version: "3",
    });
    await assertAnswer(body, 502);
  });
  test("Threema Gateway: a degenerate public key (all zeros) is 400, nothing sent", async () => {
    const { user } = threemaUser();
    const body = form({
      type: "threema-gateway",
      identity: user.identity,
      public_key: "00".repeat(32),
      session: "s",
      version: "3",
    });
    await assertAnswer(body, 400);
    assert.equal(sandbox.threema.received.length, 0);
  });
});

describe("the route", () => {
  test("answers 405 with Allow: POST to any other method", async () => {
    for (const method of ["GET", "PUT", "DELETE"]) {
      const res = await fetch(`${herald.url}/push`, { method });
      assert.equal(res.status, 405);
      assert.equal(res.headers.get("allow"), "POST");
    }
  });
  test("is /push exactly: other paths keep Herald's JSON 404", async () => {
    const res = await fetch(`${herald.url}/push/`, { method: "POST", headers: { "content-type": FORM }, body: "a=b" });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { errcode: string }).errcode, "M_UNRECOGNIZED");
  });
  test("does not exist without a push_relay section", async () => {
    const plain = await startTestHerald({ apps: { "com.example.app": testApp() } });
    try {
      const res = await fetch(`${plain.url}/push`, { method: "POST", headers: { "content-type": FORM }, body: fcm() });
      assert.equal(res.status, 404);
      assert.equal(((await res.json()) as { errcode: string }).errcode, "M_UNRECOGNIZED");
    } finally {
      await plain.stop();
    }
  });
  test("the metrics count pushes by type and outcome, time them, and label the provider clients", async () => {
    await assertAnswer(fcm({ token: unique("fcm-token-") }), 204);
    await assertAnswer(apns(apnsToken(), { bundleid: "org.example.other" }), 400);
    await assertAnswer(hms(unique("hms-token-"), { appid: "hms-voip" }), 204);
    await push("", FORM);
    const text = await (await fetch(`${herald.metricsUrl}/metrics`)).text();
    assert.match(text, /^herald_push_relay_pushes_total\{type="fcm",outcome="delivered"\} [1-9]/m);
    assert.match(text, /^herald_push_relay_pushes_total\{type="apns",outcome="refused"\} [1-9]/m);
    assert.match(text, /^herald_push_relay_bad_requests_total [1-9]/m);
    assert.match(text, /^herald_push_relay_request_time_count\{type="fcm",code="204"\} [1-9]/m);
    assert.match(text, /^sygnal_apns_status_codes_total\{pushkin="push_relay:apns:production",code="200"\} [1-9]/m);
    assert.match(text, /^sygnal_gcm_status_codes_total\{pushkin="push_relay:fcm",code="200"\} [1-9]/m);
    assert.match(text, /^herald_hms_status_codes_total\{pushkin="push_relay:hms:hms-voip",code="200"\} [1-9]/m);
  });
});
