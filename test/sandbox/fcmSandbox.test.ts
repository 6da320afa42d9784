/**
 * The FCM and Google OAuth sandboxes answer like Google over real TLS: service-account grants, token expiry, the v1
 * API's checks and error bodies (HTTP/2 and HTTP/1.1), the legacy API's batches, scripts, faults and shutdown.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { once } from "node:events";
import type { ClientHttp2Session } from "node:http2";
import { after, before, beforeEach, describe, test } from "node:test";
import { createSandboxCa, type SandboxCa } from "../../src/sandbox/ca.js";
import { FCM_INVALID_TOKEN_MESSAGE, FcmSandbox, type ReceivedFcmMessage } from "../../src/sandbox/fcm.js";
import { GoogleOAuthSandbox, type ServiceAccountKey } from "../../src/sandbox/googleOAuth.js";
import { connect, send, type ApnsResponse } from "./apnsClient.js";
import { fetchAccessToken, httpsPost, requestToken, signAssertion, type HttpsResponse } from "./fcmClient.js";
import { waitFor, within } from "../helpers/waitFor.js";

const PROJECT = "herald-test";
const OTHER_PROJECT = "someone-else";
const API_KEY = "AAAA-sandbox-server-key";
const TOKEN = "fcm-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:APA91bH";
const OTHER_TOKEN = "fcm-token-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb:APA91bH";
const V1_PATH = `/v1/projects/${PROJECT}/messages:send`;
const HOUR_MS = 3600_000;

let ca: SandboxCa;
let oauth: GoogleOAuthSandbox;
let fcm: FcmSandbox;
let account: ServiceAccountKey;
let client: ClientHttp2Session;
let clockMs = Date.now();
let accessToken: string;

const nowSeconds = () => Math.floor(clockMs / 1000);

interface GoogleError {
  code: number;
  message: string;
  status: string;
  details?: Array<Record<string, unknown>>;
}

function errorOf(response: { body: string }): GoogleError {
  return (JSON.parse(response.body) as { error: GoogleError }).error;
}

function fcmErrorCodeOf(response: { body: string }): unknown {
  return errorOf(response).details?.find((detail) => detail["@type"]?.toString().endsWith("FcmError"))?.["errorCode"];
}

function sendV1(message: unknown, options: { token?: string; path?: string } = {}): Promise<ApnsResponse> {
  return send(client, {
    path: options.path ?? V1_PATH,
    headers: { authorization: `Bearer ${options.token ?? accessToken}`, "content-type": "application/json" },
    body: JSON.stringify({ message }),
  });
}

function sendLegacy(body: unknown, apiKey = API_KEY): Promise<HttpsResponse> {
  return httpsPost(`${fcm.url}/fcm/send`, ca.certPem, {
    headers: { authorization: `key=${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function expectV1Refusal(message: unknown, status: number, googleStatus: string): Promise<GoogleError> {
  const response = await sendV1(message);
  assert.equal(response.status, status, response.body);
  assert.match(String(response.headers["content-type"]), /^application\/json/);
  const error = errorOf(response);
  assert.equal(error.code, status);
  assert.equal(error.status, googleStatus);
  return error;
}

before(async () => {
  ca = await createSandboxCa();
  oauth = await GoogleOAuthSandbox.start({ ca, now: () => clockMs });
  fcm = await FcmSandbox.start({ ca, oauth, legacyApiKeys: [API_KEY], now: () => clockMs });
  account = oauth.createServiceAccount(PROJECT);
  client = await connect(fcm.url, ca.certPem);
});

after(async () => {
  client.close();
  await fcm.close();
  await oauth.close();
});

beforeEach(async () => {
  clockMs = Date.now();
  fcm.reset();
  accessToken = await fetchAccessToken(account, ca.certPem, nowSeconds());
  // Grants and counters start from zero in each test; the token just issued stays valid.
  oauth.reset();
});

describe("Google OAuth sandbox", () => {
  test("a service account is a Google key file whose token_uri is the sandbox", () => {
    assert.deepEqual(Object.keys(account).sort(), [
      "auth_provider_x509_cert_url",
      "auth_uri",
      "client_email",
      "client_id",
      "client_x509_cert_url",
      "private_key",
      "private_key_id",
      "project_id",
      "token_uri",
      "type",
      "universe_domain",
    ]);
    assert.equal(account.type, "service_account");
    assert.equal(account.project_id, PROJECT);
    assert.equal(account.client_email, `herald-sandbox@${PROJECT}.iam.gserviceaccount.com`);
    assert.equal(account.token_uri, `${oauth.url}/token`);
    assert.match(account.private_key, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.match(account.private_key_id, /^[0-9a-f]{40}$/);
    assert.match(account.client_id, /^[1-9][0-9]{20}$/);
  });

  test("a valid assertion gets a Bearer token for the account's project, recorded as a grant", async () => {
    const response = await requestToken(account.token_uri, ca.certPem, signAssertion(account, nowSeconds()));
    assert.equal(response.status, 200, response.body);
    assert.match(String(response.headers["content-type"]), /^application\/json/);
    const body = JSON.parse(response.body) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ["access_token", "expires_in", "token_type"]);
    assert.equal(body["expires_in"], 3600);
    assert.equal(body["token_type"], "Bearer");
    const token = String(body["access_token"]);
    assert.deepEqual(oauth.isValid(token), { projectId: PROJECT });
    assert.equal(oauth.tokensIssued, 1);
    assert.deepEqual(oauth.grants[0], {
      accessToken: token,
      projectId: PROJECT,
      clientEmail: account.client_email,
      privateKeyId: account.private_key_id,
      scope: "https://www.googleapis.com/auth/firebase.messaging",
      issuedAt: clockMs,
      expiresAt: clockMs + HOUR_MS,
    });
  });

  test("without a kid, the key is found by the issuer", async () => {
    const assertion = signAssertion(account, nowSeconds(), { header: { kid: undefined } });
    assert.equal((await requestToken(account.token_uri, ca.certPem, assertion)).status, 200);
  });

  test("each bad assertion is refused with Google's 400 and nothing is issued", async () => {
    const now = nowSeconds();
    const stranger = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    const cases: Array<[string, string, string, RegExp]> = [
      [
        "bad signature",
        signAssertion(account, now, { privateKey: stranger }),
        "invalid_grant",
        /^Invalid JWT Signature\.$/,
      ],
      ["not RS256", signAssertion(account, now, { header: { alg: "RS512" } }), "invalid_grant", /Signature/],
      [
        "wrong aud",
        signAssertion(account, now, { claims: { aud: "https://oauth2.googleapis.com/token" } }),
        "invalid_grant",
        /audience/,
      ],
      ["missing scope", signAssertion(account, now, { claims: { scope: undefined } }), "invalid_scope", /scope/],
      [
        "other scope",
        signAssertion(account, now, { claims: { scope: "https://www.googleapis.com/auth/cloud-platform" } }),
        "invalid_scope",
        /scope/,
      ],
      ["expired", signAssertion(account, now - 7200), "invalid_grant", /short-lived/],
      ["issued in the future", signAssertion(account, now + 600), "invalid_grant", /short-lived/],
      ["too long-lived", signAssertion(account, now, { claims: { exp: now + 3601 } }), "invalid_grant", /short-lived/],
      [
        "unknown kid",
        signAssertion(account, now, { header: { kid: "0".repeat(40) } }),
        "invalid_grant",
        /account not found/,
      ],
      [
        "unknown issuer",
        signAssertion(account, now, { header: { kid: undefined }, claims: { iss: "x@y.iam.gserviceaccount.com" } }),
        "invalid_grant",
        /account not found/,
      ],
      [
        "kid of another issuer",
        signAssertion(account, now, { claims: { iss: "x@y.iam.gserviceaccount.com" } }),
        "invalid_grant",
        /account not found/,
      ],
      ["not a JWT", "not-a-jwt", "invalid_grant", /JWT/],
    ];
    for (const [name, assertion, error, description] of cases) {
      const response = await requestToken(account.token_uri, ca.certPem, assertion);
      assert.equal(response.status, 400, name);
      const body = JSON.parse(response.body) as { error: string; error_description: string };
      assert.equal(body.error, error, name);
      assert.match(body.error_description, description, name);
    }
    const wrongGrant = await requestToken(
      account.token_uri,
      ca.certPem,
      signAssertion(account, now),
      "client_credentials",
    );
    assert.equal(wrongGrant.status, 400);
    assert.equal((JSON.parse(wrongGrant.body) as { error: string }).error, "unsupported_grant_type");
    assert.equal(oauth.tokensIssued, 0);
  });

  test("tokens expire by the sandbox clock; FCM then answers 401", async () => {
    assert.deepEqual(oauth.isValid(accessToken), { projectId: PROJECT });
    clockMs += HOUR_MS - 1;
    assert.equal((await sendV1({ token: TOKEN })).status, 200);
    clockMs += 1;
    assert.equal(oauth.isValid(accessToken), undefined);
    assert.equal((await sendV1({ token: TOKEN })).status, 401);
  });

  test("expireAll() and revoke() make tokens invalid; a new grant works again", async () => {
    const second = await fetchAccessToken(account, ca.certPem, nowSeconds());
    oauth.revoke(second);
    assert.equal(oauth.isValid(second), undefined);
    assert.deepEqual(oauth.isValid(accessToken), { projectId: PROJECT });
    oauth.expireAll();
    assert.equal(oauth.isValid(accessToken), undefined);
    assert.equal((await sendV1({ token: TOKEN })).status, 401);
    accessToken = await fetchAccessToken(account, ca.certPem, nowSeconds());
    assert.equal((await sendV1({ token: TOKEN })).status, 200);
  });

  test("scripted failures answer the next token requests, in order, before any check", async () => {
    oauth.scriptFailure(2, 500);
    oauth.scriptFailure(1, 400, { error: "invalid_grant", error_description: "Invalid grant: account not found" });
    const assertion = signAssertion(account, nowSeconds());
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await requestToken(account.token_uri, ca.certPem, assertion)).status);
    assert.deepEqual(statuses, [500, 500, 400, 200]);
    assert.equal(oauth.tokensIssued, 1);
    assert.equal(oauth.requests, 4);
  });

  test("only POST /token exists", async () => {
    assert.equal((await httpsPost(`${oauth.url}/other`, ca.certPem, {})).status, 404);
    assert.equal((await httpsPost(`${oauth.url}/token`, ca.certPem, { method: "GET" })).status, 405);
  });
});

describe("FCM v1", () => {
  test("a valid message gets 200 with its name, is recorded with its headers and emits 'push'", async () => {
    const message = {
      token: TOKEN,
      data: { room_id: "!room:example.org", unread: "2" },
      android: { priority: "high" },
    };
    const emitted = once(fcm, "push") as Promise<[ReceivedFcmMessage]>;
    const response = await sendV1(message);
    assert.equal(response.status, 200, response.body);
    assert.match(
      (JSON.parse(response.body) as { name: string }).name,
      /^projects\/herald-test\/messages\/0:\d+%[0-9a-f]{16}$/,
    );
    assert.equal(fcm.received.length, 1);
    const [received] = fcm.received;
    assert.deepEqual(
      { ...received, headers: undefined },
      {
        api: "v1",
        projectId: PROJECT,
        token: TOKEN,
        message,
        headers: undefined,
        receivedAt: clockMs,
      },
    );
    assert.equal(received?.headers["authorization"], `Bearer ${accessToken}`);
    assert.equal((await emitted)[0], received);
    assert.equal(fcm.requests, 1);
  });

  test("HTTP/1.1 works as well as HTTP/2", async () => {
    const response = await httpsPost(`${fcm.url}${V1_PATH}`, ca.certPem, {
      headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ message: { token: TOKEN, data: { a: "b" } } }),
    });
    assert.equal(response.status, 200, response.body);
    assert.equal(fcm.received[0]?.token, TOKEN);
  });

  test("topic messages are accepted; validate_only checks without sending", async () => {
    assert.equal((await sendV1({ topic: "news" })).status, 200);
    assert.equal(fcm.received[0]?.token, undefined);
    const dryRun = await send(client, {
      path: V1_PATH,
      headers: { authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({ message: { token: TOKEN }, validate_only: true }),
    });
    assert.deepEqual(JSON.parse(dryRun.body), { name: `projects/${PROJECT}/messages/fake_message_id` });
    assert.equal(fcm.received.length, 1);
  });

  test("no token, an unknown or expired one: 401 UNAUTHENTICATED", async () => {
    const missing = await send(client, { path: V1_PATH, body: JSON.stringify({ message: { token: TOKEN } }) });
    assert.equal(missing.status, 401);
    assert.match(errorOf(missing).message, /^Request is missing required authentication credential/);
    const unknown = await sendV1({ token: TOKEN }, { token: "ya29.made-up" });
    assert.equal(unknown.status, 401);
    assert.equal(errorOf(unknown).status, "UNAUTHENTICATED");
    assert.match(errorOf(unknown).message, /^Request had invalid authentication credentials/);
    assert.equal(fcm.received.length, 0);
  });

  test("a token of another project: 403 PERMISSION_DENIED", async () => {
    const otherAccount = oauth.createServiceAccount(OTHER_PROJECT);
    const otherToken = await fetchAccessToken(otherAccount, ca.certPem, nowSeconds());
    const response = await sendV1({ token: TOKEN }, { token: otherToken });
    assert.equal(response.status, 403);
    assert.equal(errorOf(response).status, "PERMISSION_DENIED");
    const own = await sendV1(
      { token: TOKEN },
      { token: otherToken, path: `/v1/projects/${OTHER_PROJECT}/messages:send` },
    );
    assert.equal(own.status, 200);
    assert.equal(fcm.received[0]?.projectId, OTHER_PROJECT);
  });

  test("a data value that is not a string: 400 naming the entry, as FCM does", async () => {
    const error = await expectV1Refusal({ token: TOKEN, data: { a: "x", b: 1 } }, 400, "INVALID_ARGUMENT");
    assert.equal(error.message, "Invalid value at 'message.data[1].value' (TYPE_STRING), 1");
    assert.equal(error.details?.[0]?.["@type"], "type.googleapis.com/google.rpc.BadRequest");
    const nested = await expectV1Refusal({ token: TOKEN, data: { aps: { alert: "" } } }, 400, "INVALID_ARGUMENT");
    assert.equal(
      nested.message,
      "Invalid value at 'message.data[0].value' (TYPE_STRING), Starting an object on a scalar field",
    );
  });

  test("an unknown message field: 400 'Cannot find field'", async () => {
    const error = await expectV1Refusal({ token: TOKEN, content_available: true }, 400, "INVALID_ARGUMENT");
    assert.equal(
      error.message,
      `Invalid JSON payload received. Unknown name "content_available" at 'message': Cannot find field.`,
    );
  });

  test("no target, or two: 400 INVALID_ARGUMENT", async () => {
    const none = await expectV1Refusal({ data: { a: "b" } }, 400, "INVALID_ARGUMENT");
    assert.equal(none.message, "Request contains an invalid argument.");
    assert.deepEqual(none.details, [
      { "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode: "INVALID_ARGUMENT" },
    ]);
    const two = await expectV1Refusal({ token: TOKEN, topic: "news" }, 400, "INVALID_ARGUMENT");
    assert.match(two.message, /oneof field 'target' is already set/);
  });

  test("a token that cannot be an FCM token: 400 INVALID_ARGUMENT saying so", async () => {
    for (const token of ["short", "has a space in it somewhere"]) {
      const response = await sendV1({ token });
      assert.equal(response.status, 400);
      const error = errorOf(response);
      assert.equal(error.message, FCM_INVALID_TOKEN_MESSAGE);
      assert.equal(fcmErrorCodeOf(response), "INVALID_ARGUMENT");
    }
  });

  test("other refusals: not JSON, a bad android priority, data over 4096 bytes", async () => {
    const notJson = await send(client, {
      path: V1_PATH,
      headers: { authorization: `Bearer ${accessToken}` },
      body: "{",
    });
    assert.equal(notJson.status, 400);
    assert.match(errorOf(notJson).message, /^Invalid JSON payload received/);
    const priority = await expectV1Refusal({ token: TOKEN, android: { priority: "urgent" } }, 400, "INVALID_ARGUMENT");
    assert.match(priority.message, /message\.android\.priority/);
    const big = await expectV1Refusal({ token: TOKEN, data: { body: "x".repeat(4096) } }, 400, "INVALID_ARGUMENT");
    assert.equal(big.message, "Android message is too big");
    assert.equal(fcm.received.length, 0);
  });

  test("unknown paths: 404; other methods: 405", async () => {
    const headers = { authorization: `Bearer ${accessToken}` };
    assert.equal((await send(client, { path: "/v1/projects/x/messages:sned", headers })).status, 404);
    assert.equal((await send(client, { path: V1_PATH, method: "PUT", headers })).status, 405);
  });

  test("checks run before a scripted answer", async () => {
    fcm.script(TOKEN, { status: 200 });
    await expectV1Refusal({ token: TOKEN, data: { n: 1 } }, 400, "INVALID_ARGUMENT");
  });
});

describe("FCM v1 scripted answers", () => {
  test("are used in order, the last one repeating, with Retry-After", async () => {
    fcm.script(
      TOKEN,
      { status: 429, errorCode: "QUOTA_EXCEEDED", retryAfter: 1 },
      { status: 200 },
      { status: 404, errorCode: "UNREGISTERED" },
    );
    const quota = await sendV1({ token: TOKEN });
    assert.equal(quota.status, 429);
    assert.equal(quota.headers["retry-after"], "1");
    assert.equal(errorOf(quota).status, "RESOURCE_EXHAUSTED");
    assert.equal(fcmErrorCodeOf(quota), "QUOTA_EXCEEDED");
    assert.equal((await sendV1({ token: TOKEN })).status, 200);
    for (let i = 0; i < 2; i++) {
      const gone = await sendV1({ token: TOKEN });
      assert.equal(gone.status, 404);
      assert.equal(errorOf(gone).status, "NOT_FOUND");
      assert.equal(fcmErrorCodeOf(gone), "UNREGISTERED");
    }
    assert.equal(fcm.received.length, 1);
    assert.equal((await sendV1({ token: OTHER_TOKEN })).status, 200);
  });

  test("a status alone gets FCM's usual error code; a legacy error maps to its v1 answer", async () => {
    const expected: Array<[number, string, string]> = [
      [400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"],
      [401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR"],
      [403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH"],
      [500, "INTERNAL", "INTERNAL"],
      [503, "UNAVAILABLE", "UNAVAILABLE"],
    ];
    for (const [status, googleStatus, errorCode] of expected) {
      fcm.script(TOKEN, { status });
      const error = await expectV1Refusal({ token: TOKEN }, status, googleStatus);
      assert.equal(error.details?.[0]?.["errorCode"], errorCode);
    }
    fcm.script(TOKEN, { legacyError: "NotRegistered" });
    const gone = await sendV1({ token: TOKEN });
    assert.deepEqual([gone.status, fcmErrorCodeOf(gone)], [404, "UNREGISTERED"]);
    fcm.script(TOKEN, { status: 400, errorCode: "INVALID_ARGUMENT", message: FCM_INVALID_TOKEN_MESSAGE });
    assert.equal(errorOf(await sendV1({ token: TOKEN })).message, FCM_INVALID_TOKEN_MESSAGE);
  });

  test("a delayed answer does not hold up other streams; reset answers RST_STREAM", async () => {
    fcm.script(TOKEN, { status: 200, delayMs: 150 });
    const order: string[] = [];
    const slow = sendV1({ token: TOKEN }).then(() => order.push("slow"));
    const fast = sendV1({ token: OTHER_TOKEN }).then(() => order.push("fast"));
    await Promise.all([slow, fast]);
    assert.deepEqual(order, ["fast", "slow"]);
    fcm.script(TOKEN, { status: 200, reset: true });
    await assert.rejects(sendV1({ token: TOKEN }), /NGHTTP2_INTERNAL_ERROR/);
  });

  test("goaway refuses the stream (REFUSED_STREAM) and closes the session with a GOAWAY; nothing is recorded", async () => {
    const own = await connect(fcm.url, ca.certPem);
    try {
      const goaway = once(own, "goaway");
      fcm.script(TOKEN, { status: 200, goaway: true });
      await assert.rejects(
        send(own, {
          path: V1_PATH,
          headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
          body: JSON.stringify({ message: { token: TOKEN } }),
        }),
        /NGHTTP2_REFUSED_STREAM/,
      );
      const [errorCode] = (await goaway) as [number];
      assert.equal(errorCode, 0, "a graceful GOAWAY (NO_ERROR)");
      assert.equal(fcm.received.length, 0);
    } finally {
      own.destroy();
    }
  });

  test("clearScripts() and reset() forget scripts; reset() also the records and faults", async () => {
    fcm.script(TOKEN, { status: 503 });
    fcm.clearScripts();
    assert.equal((await sendV1({ token: TOKEN })).status, 200);
    fcm.script(TOKEN, { status: 503 });
    fcm.faults = { errorRate: 1 };
    fcm.reset();
    assert.deepEqual([fcm.received.length, fcm.requests, fcm.faults], [0, 0, {}]);
    assert.equal((await sendV1({ token: TOKEN })).status, 200);
  });
});

describe("FCM legacy", () => {
  test("a single `to` gets one success result and is recorded with the whole body", async () => {
    const body = { to: TOKEN, priority: "high", data: { room_id: "!room:example.org", unread: 2 } };
    const response = await sendLegacy(body);
    assert.equal(response.status, 200, response.body);
    const answer = JSON.parse(response.body) as Record<string, unknown>;
    assert.equal(typeof answer["multicast_id"], "number");
    assert.deepEqual(
      { ...answer, multicast_id: 0, results: undefined },
      {
        multicast_id: 0,
        success: 1,
        failure: 0,
        canonical_ids: 0,
        results: undefined,
      },
    );
    assert.match(String((answer["results"] as Array<{ message_id: string }>)[0]?.message_id), /^0:\d+%[0-9a-f]{16}$/);
    assert.deepEqual(
      fcm.received.map(({ api, projectId, token, message }) => ({ api, projectId, token, message })),
      [{ api: "legacy", projectId: undefined, token: TOKEN, message: body }],
    );
  });

  test("a batch gets one result per registration id, in order, with per-result errors", async () => {
    const ids = [TOKEN, "dead-token-1234567890", "busy-token-1234567890", "not a token", OTHER_TOKEN];
    fcm.script("dead-token-1234567890", { legacyError: "NotRegistered" });
    fcm.script("busy-token-1234567890", { legacyError: "Unavailable" });
    const response = await sendLegacy({ registration_ids: ids, data: { a: 1 } });
    assert.equal(response.status, 200, response.body);
    const answer = JSON.parse(response.body) as {
      success: number;
      failure: number;
      results: Array<Record<string, string>>;
    };
    assert.deepEqual([answer.success, answer.failure], [2, 3]);
    assert.deepEqual(
      answer.results.map((result) => result["error"] ?? "ok"),
      ["ok", "NotRegistered", "Unavailable", "InvalidRegistration", "ok"],
    );
    assert.deepEqual(
      fcm.received.map((received) => received.token),
      [TOKEN, OTHER_TOKEN],
    );
  });

  test("an unknown or missing API key: 401 Unauthorized", async () => {
    const wrong = await sendLegacy({ to: TOKEN }, "not-the-key");
    assert.equal(wrong.status, 401);
    assert.match(wrong.body, /Unauthorized/);
    const missing = await httpsPost(`${fcm.url}/fcm/send`, ca.certPem, { body: JSON.stringify({ to: TOKEN }) });
    assert.equal(missing.status, 401);
    assert.equal(fcm.received.length, 0);
  });

  test("a scripted whole-request status answers the batch, with Retry-After", async () => {
    fcm.script(OTHER_TOKEN, { status: 503, retryAfter: 7 }, { status: 200 });
    const failed = await sendLegacy({ registration_ids: [TOKEN, OTHER_TOKEN] });
    assert.equal(failed.status, 503);
    assert.equal(failed.headers["retry-after"], "7");
    assert.equal(fcm.received.length, 0);
    assert.equal((await sendLegacy({ registration_ids: [TOKEN, OTHER_TOKEN] })).status, 200);
    assert.equal(fcm.received.length, 2);
  });

  test("malformed bodies: both targets or bad JSON → 400; no target → MissingRegistration", async () => {
    assert.equal((await sendLegacy({ to: TOKEN, registration_ids: [TOKEN] })).status, 400);
    const notJson = await httpsPost(`${fcm.url}/fcm/send`, ca.certPem, {
      headers: { authorization: `key=${API_KEY}` },
      body: "{",
    });
    assert.equal(notJson.status, 400);
    const none = await sendLegacy({ data: { a: "b" } });
    assert.equal(none.status, 200);
    assert.deepEqual((JSON.parse(none.body) as { results: unknown }).results, [{ error: "MissingRegistration" }]);
  });
});

describe("faults, concurrency and shutdown", () => {
  test("errorRate 1 answers 503 UNAVAILABLE (v1) and 503 (legacy); resetRate 1 resets", async () => {
    fcm.faults = { errorRate: 1, latencyMs: [1, 5] };
    const v1 = await expectV1Refusal({ token: TOKEN }, 503, "UNAVAILABLE");
    assert.equal(v1.details?.[0]?.["errorCode"], "UNAVAILABLE");
    assert.equal((await sendLegacy({ to: TOKEN })).status, 503);
    fcm.faults = { resetRate: 1 };
    await assert.rejects(sendV1({ token: TOKEN }), /NGHTTP2_INTERNAL_ERROR/);
    await assert.rejects(sendLegacy({ to: TOKEN }), /socket hang up|ECONNRESET/);
    assert.equal(fcm.received.length, 0);
  });

  test("parallel requests share a session; the peak of open streams is tracked", async () => {
    fcm.faults = { latencyMs: 50 };
    const statuses = await Promise.all([1, 2, 3, 4].map(() => sendV1({ token: TOKEN }).then((r) => r.status)));
    assert.deepEqual(statuses, [200, 200, 200, 200]);
    assert.equal(fcm.peakConcurrentStreams, 4);
  });

  test("maxConcurrentStreams is advertised; sessionsOpened counts connections", async () => {
    const narrow = await FcmSandbox.start({ ca, oauth, maxConcurrentStreams: 1 });
    const session = await connect(narrow.url, ca.certPem);
    try {
      assert.equal(session.remoteSettings.maxConcurrentStreams, 1);
      narrow.faults = { latencyMs: 20 };
      const headers = { authorization: `Bearer ${accessToken}` };
      const body = JSON.stringify({ message: { token: TOKEN } });
      const statuses = await Promise.all(
        [1, 2, 3].map(() => send(session, { path: V1_PATH, headers, body }).then((r) => r.status)),
      );
      assert.deepEqual(statuses, [200, 200, 200]);
      assert.equal(narrow.peakConcurrentStreams, 1);
      assert.equal(narrow.sessionsOpened, 1);
    } finally {
      session.close();
      await narrow.close();
    }
  });

  test("close() finishes while HTTP/2 and HTTP/1.1 requests hang", async () => {
    const doomed = await FcmSandbox.start({ ca, oauth, legacyApiKeys: [API_KEY] });
    const session = await connect(doomed.url, ca.certPem);
    doomed.script(TOKEN, { status: 200, hang: true });
    const headers = { authorization: `Bearer ${accessToken}` };
    // Both are expected to fail when the sandbox closes; the expectations are attached before that happens.
    const hungV1 = assert.rejects(
      send(session, { path: V1_PATH, headers, body: JSON.stringify({ message: { token: TOKEN } }) }),
    );
    const hungLegacy = assert.rejects(
      httpsPost(`${doomed.url}/fcm/send`, ca.certPem, {
        headers: { authorization: `key=${API_KEY}` },
        body: JSON.stringify({ to: TOKEN }),
      }),
    );
    await waitFor("the hung requests at the sandbox", () => doomed.requests >= 2);
    await within("close() with requests hanging", doomed.close());
    await Promise.all([hungV1, hungLegacy]);
  });
});
