/**
 * The HMS sandbox answers like Huawei over real TLS: client-credential grants and their refusals, access tokens bound
 * to an app and expiring by the sandbox clock, Push Kit's checks and business codes, scripts, faults and shutdown.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, beforeEach, describe, test } from "node:test";
import { createSandboxCa, type SandboxCa } from "../../src/sandbox/ca.js";
import { HMS_CODE, HmsSandbox, type HmsApp, type ReceivedHmsMessage } from "../../src/sandbox/hms.js";
import { httpsPost, type HttpsResponse } from "./fcmClient.js";
import { waitFor, within } from "../helpers/waitFor.js";

const TOKEN = "IQAAAACy0aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const OTHER_TOKEN = "IQAAAACy0bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const HOUR_MS = 3600_000;

let ca: SandboxCa;
let hms: HmsSandbox;
let app: HmsApp;
let otherApp: HmsApp;
let accessToken: string;
let clockMs = Date.now();

interface HmsBody {
  code: string;
  msg: string;
  requestId: string;
}

function requestToken(form: Record<string, string>, contentType = "application/x-www-form-urlencoded") {
  return httpsPost(hms.tokenUrl, ca.certPem, {
    headers: { "content-type": contentType },
    body: new URLSearchParams(form).toString(),
  });
}

async function fetchAccessToken(client: HmsApp): Promise<string> {
  const response = await requestToken({
    grant_type: "client_credentials",
    client_id: client.clientId,
    client_secret: client.clientSecret,
  });
  assert.equal(response.status, 200, response.body);
  return (JSON.parse(response.body) as { access_token: string }).access_token;
}

/** A message as Herald's pushkin sends it: data as a JSON string, one token. */
function message(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    data: JSON.stringify({ room_id: "!room:example.org", unread: 2 }),
    android: { urgency: "HIGH", ttl: "86400s" },
    token: [TOKEN],
    ...overrides,
  };
}

function push(
  body: unknown,
  options: { token?: string | null; appId?: string; raw?: string } = {},
): Promise<HttpsResponse> {
  const token = options.token === undefined ? accessToken : options.token;
  return httpsPost(`${hms.url}/v1/${options.appId ?? app.appId}/messages:send`, ca.certPem, {
    headers: {
      "content-type": "application/json; charset=UTF-8",
      ...(token !== null && { authorization: `Bearer ${token}` }),
    },
    body: options.raw ?? JSON.stringify(body),
  });
}

function bodyOf(response: HttpsResponse): HmsBody {
  return JSON.parse(response.body) as HmsBody;
}

async function expectAnswer(response: Promise<HttpsResponse>, status: number, code: string): Promise<HmsBody> {
  const answer = await response;
  assert.equal(answer.status, status, answer.body);
  assert.match(String(answer.headers["content-type"]), /^application\/json/);
  const body = bodyOf(answer);
  assert.equal(body.code, code, answer.body);
  assert.match(body.requestId, /^\d{24}$/);
  return body;
}

before(async () => {
  ca = await createSandboxCa();
  hms = await HmsSandbox.start({ ca, now: () => clockMs });
  app = hms.createApp();
  otherApp = hms.createApp("108000001");
});

after(async () => {
  await hms.close();
});

beforeEach(async () => {
  clockMs = Date.now();
  hms.reset();
  accessToken = await fetchAccessToken(app);
  // Counters start from zero in each test; the token just issued stays valid.
  hms.reset();
});

describe("HMS OAuth", () => {
  test("createApp() makes a numeric app id equal to the client id, with a random secret", () => {
    assert.match(app.appId, /^[1-9]\d{8}$/);
    assert.equal(app.clientId, app.appId);
    assert.match(app.clientSecret, /^[0-9a-f]{64}$/);
    assert.deepEqual([otherApp.appId, otherApp.clientId], ["108000001", "108000001"]);
    assert.notEqual(otherApp.clientSecret, app.clientSecret);
    assert.equal(hms.tokenUrl, `${hms.url}/oauth2/v3/token`);
  });

  test("a known client gets a Bearer token that expires in an hour", async () => {
    const response = await requestToken({
      grant_type: "client_credentials",
      client_id: app.clientId,
      client_secret: app.clientSecret,
    });
    assert.equal(response.status, 200, response.body);
    assert.match(String(response.headers["content-type"]), /^application\/json/);
    const body = JSON.parse(response.body) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ["access_token", "expires_in", "token_type"]);
    assert.equal(body["expires_in"], 3600);
    assert.equal(body["token_type"], "Bearer");
    assert.equal(typeof body["access_token"], "string");
    // Huawei escapes slashes; the token itself must come back whole once parsed.
    if (String(body["access_token"]).includes("/")) assert.match(response.body, /\\\//);
    assert.equal(hms.tokensIssued, 1);
    await expectAnswer(push({ message: message() }, { token: String(body["access_token"]) }), 200, HMS_CODE.success);
  });

  test("a wrong secret, an unknown client, a wrong grant type or a missing field: 400 with error 1101", async () => {
    const good = { grant_type: "client_credentials", client_id: app.clientId, client_secret: app.clientSecret };
    const cases: Array<[string, Record<string, string>, string]> = [
      ["wrong secret", { ...good, client_secret: otherApp.clientSecret }, "invalid client_secret"],
      ["unknown client", { ...good, client_id: "999999999" }, "invalid client"],
      ["wrong grant type", { ...good, grant_type: "authorization_code" }, "parameter invalid"],
      ["no secret", { grant_type: "client_credentials", client_id: app.clientId }, "parameter invalid"],
    ];
    for (const [name, form, description] of cases) {
      const response = await requestToken(form);
      assert.equal(response.status, 400, name);
      const body = JSON.parse(response.body) as { error: number; error_description: string };
      assert.equal(body.error, 1101, name);
      assert.equal(body.error_description, description, name);
    }
    const asJson = await requestToken(good, "application/json");
    assert.equal(asJson.status, 400);
    assert.equal(hms.tokensIssued, 0);
  });

  test("scriptTokenFailure() fails the next requests, with Huawei's body, a text 5xx or a given body", async () => {
    const good = { grant_type: "client_credentials", client_id: app.clientId, client_secret: app.clientSecret };
    hms.scriptTokenFailure(2, 503);
    hms.scriptTokenFailure(1, 400, { error: 1203, error_description: "scripted" });
    for (let i = 0; i < 2; i++) {
      const unavailable = await requestToken(good);
      assert.equal(unavailable.status, 503);
      assert.equal(unavailable.body, "Service Unavailable");
    }
    const refused = await requestToken(good);
    assert.deepEqual([refused.status, JSON.parse(refused.body)], [400, { error: 1203, error_description: "scripted" }]);
    hms.scriptTokenFailure(1, 401);
    assert.equal((JSON.parse((await requestToken(good)).body) as { error: number }).error, 1101);
    assert.equal((await requestToken(good)).status, 200);
    assert.equal(hms.tokensIssued, 1);
  });
});

describe("HMS push", () => {
  test("a push is accepted with 80000000 and recorded with its data parsed", async () => {
    const pushed = once(hms, "push") as Promise<[ReceivedHmsMessage]>;
    const sent = message();
    const body = await expectAnswer(push({ message: sent }), 200, HMS_CODE.success);
    assert.equal(body.msg, "Success");
    const [event] = await pushed;
    assert.equal(hms.received.length, 1);
    const received = hms.received[0];
    assert.equal(event, received);
    assert.deepEqual(
      { ...received, headers: undefined },
      {
        appId: app.appId,
        token: TOKEN,
        message: sent,
        data: { room_id: "!room:example.org", unread: 2 },
        headers: undefined,
        receivedAt: clockMs,
      },
    );
    assert.equal(received?.headers.authorization, `Bearer ${accessToken}`);
    assert.equal(hms.requests, 1);
  });

  test("a message to several tokens gives one record per token; validate_only records nothing", async () => {
    await expectAnswer(push({ message: message({ token: [TOKEN, OTHER_TOKEN] }) }), 200, HMS_CODE.success);
    assert.deepEqual(
      hms.received.map((received) => received.token),
      [TOKEN, OTHER_TOKEN],
    );
    hms.received.length = 0;
    await expectAnswer(push({ validate_only: true, message: message() }), 200, HMS_CODE.success);
    assert.equal(hms.received.length, 0);
  });

  test("requestIds differ between requests", async () => {
    const first = await expectAnswer(push({ message: message() }), 200, HMS_CODE.success);
    const second = await expectAnswer(push({ message: message() }), 200, HMS_CODE.success);
    assert.notEqual(first.requestId, second.requestId);
  });

  test("no token or an unknown one: 401 with 80200001", async () => {
    const none = await expectAnswer(push({ message: message() }, { token: null }), 401, HMS_CODE.authenticationError);
    assert.equal(none.msg, "Oauth authentication error.");
    await expectAnswer(push({ message: message() }, { token: "not-a-token" }), 401, HMS_CODE.authenticationError);
    assert.equal(hms.received.length, 0);
  });

  test("another app's token: 401 with 80200001, on either app's path", async () => {
    const otherToken = await fetchAccessToken(otherApp);
    await expectAnswer(push({ message: message() }, { token: otherToken }), 401, HMS_CODE.authenticationError);
    await expectAnswer(push({ message: message() }, { appId: otherApp.appId }), 401, HMS_CODE.authenticationError);
    await expectAnswer(push({ message: message() }, { token: otherToken, appId: otherApp.appId }), 200, "80000000");
  });

  test("tokens expire by the sandbox clock: 401 with 80200003", async () => {
    clockMs += HOUR_MS - 1;
    await expectAnswer(push({ message: message() }), 200, HMS_CODE.success);
    clockMs += 1;
    const expired = await expectAnswer(push({ message: message() }), 401, HMS_CODE.tokenExpired);
    assert.equal(expired.msg, "OAuth token expired.");
  });

  test("expireTokens() expires every token handed out; a new one works", async () => {
    hms.expireTokens();
    await expectAnswer(push({ message: message() }), 401, HMS_CODE.tokenExpired);
    accessToken = await fetchAccessToken(app);
    await expectAnswer(push({ message: message() }), 200, HMS_CODE.success);
  });

  test("each malformed message: 400 with Push Kit's code, and nothing recorded", async () => {
    const cases: Array<[string, unknown, string]> = [
      ["no message", { validate_only: false }, HMS_CODE.illegalStructure],
      ["message not an object", { message: "hello" }, HMS_CODE.illegalStructure],
      ["data an object", { message: message({ data: { a: "b" } }) }, HMS_CODE.illegalStructure],
      ["no data", { message: message({ data: undefined }) }, HMS_CODE.illegalStructure],
      ["no token", { message: message({ token: undefined }) }, HMS_CODE.invalidParameters],
      ["token a string", { message: message({ token: TOKEN }) }, HMS_CODE.invalidParameters],
      ["empty token", { message: message({ token: [TOKEN, ""] }) }, HMS_CODE.invalidParameters],
      ["no tokens", { message: message({ token: [] }) }, HMS_CODE.tokenCount],
      ["1001 tokens", { message: message({ token: Array.from({ length: 1001 }, (_, i) => `t${i}`) }) }, "80300010"],
      ["bad urgency", { message: message({ android: { urgency: "URGENT" } }) }, HMS_CODE.invalidParameters],
      ["ttl without unit", { message: message({ android: { ttl: "86400" } }) }, HMS_CODE.invalidTtl],
      ["ttl a number", { message: message({ android: { ttl: 86400 } }) }, HMS_CODE.invalidTtl],
      ["too large", { message: message({ data: JSON.stringify({ body: "x".repeat(4096) }) }) }, "80300008"],
    ];
    for (const [name, body, code] of cases) {
      const answer = await push(body);
      assert.equal(answer.status, 400, name);
      assert.equal(bodyOf(answer).code, code, name);
    }
    const notJson = await push(undefined, { raw: "{" });
    assert.deepEqual(
      [notJson.status, bodyOf(notJson).code, bodyOf(notJson).msg],
      [400, "80100003", "Illegal message structure"],
    );
    assert.equal(bodyOf(await push({ message: message({ android: { ttl: "1d" } }) })).msg, "TTL invalid");
    assert.equal(hms.received.length, 0);
  });

  test("a notification message needs no data; a fractional ttl and NORMAL urgency pass", async () => {
    const notification = message({ data: undefined, android: { notification: { title: "t", body: "b" } } });
    await expectAnswer(push({ message: notification }), 200, HMS_CODE.success);
    assert.equal(hms.received[0]?.data, undefined);
    await expectAnswer(push({ message: message({ android: { urgency: "NORMAL", ttl: "1.5s" } }) }), 200, "80000000");
    await expectAnswer(push({ message: message({ data: "plain text" }) }), 200, HMS_CODE.success);
    assert.equal(hms.received[2]?.data, "plain text");
  });

  test("unknown paths: 404; other methods: 405", async () => {
    const wrongPath = await httpsPost(`${hms.url}/v2/${app.appId}/messages:send`, ca.certPem, { body: "{}" });
    assert.equal(wrongPath.status, 404);
    const get = await httpsPost(`${hms.url}/v1/${app.appId}/messages:send`, ca.certPem, { method: "GET" });
    assert.equal(get.status, 405);
    const getToken = await httpsPost(hms.tokenUrl, ca.certPem, { method: "GET" });
    assert.equal(getToken.status, 405);
  });
});

describe("HMS scripted answers", () => {
  test("are used in order, the last one repeating", async () => {
    const partial = JSON.stringify({ success: 1, failure: 1, illegal_tokens: [TOKEN] });
    hms.script(
      TOKEN,
      { code: "80300007" },
      { code: "80100000", msg: partial },
      { code: "80000000" },
      { httpStatus: 503, retryAfter: 3 },
    );
    const invalid = await expectAnswer(push({ message: message() }), 200, HMS_CODE.invalidTokens);
    assert.equal(invalid.msg, "All the tokens are invalid");
    assert.equal(hms.received.length, 0);

    const some = await expectAnswer(push({ message: message({ token: [TOKEN, OTHER_TOKEN] }) }), 200, "80100000");
    assert.deepEqual(JSON.parse(some.msg), { success: 1, failure: 1, illegal_tokens: [TOKEN] });
    assert.deepEqual(
      hms.received.map((received) => received.token),
      [OTHER_TOKEN],
    );

    await expectAnswer(push({ message: message() }), 200, HMS_CODE.success);
    for (let i = 0; i < 2; i++) {
      const busy = await push({ message: message() });
      assert.equal(busy.status, 503);
      assert.equal(busy.headers["retry-after"], "3");
      assert.equal(bodyOf(busy).code, HMS_CODE.internalError);
      assert.match(bodyOf(busy).requestId, /^\d{24}$/);
    }
    assert.equal(hms.received.length, 2);
    await expectAnswer(push({ message: message({ token: [OTHER_TOKEN] }) }), 200, HMS_CODE.success);
  });

  test("the first scripted token decides; a partial success without msg lists that token", async () => {
    hms.script(OTHER_TOKEN, { code: "80100000" });
    const some = await expectAnswer(push({ message: message({ token: [TOKEN, OTHER_TOKEN] }) }), 200, "80100000");
    assert.deepEqual(JSON.parse(some.msg), { success: 1, failure: 1, illegal_tokens: [OTHER_TOKEN] });
    assert.deepEqual(
      hms.received.map((received) => received.token),
      [TOKEN],
    );
  });

  test("a status alone gets its usual code; a given code and msg are sent as they are", async () => {
    hms.script(TOKEN, { httpStatus: 401 });
    await expectAnswer(push({ message: message() }), 401, HMS_CODE.tokenExpired);
    hms.script(TOKEN, { httpStatus: 500 });
    await expectAnswer(push({ message: message() }), 500, HMS_CODE.internalError);
    hms.script(TOKEN, { code: "80300008", msg: "too big here" });
    assert.equal((await expectAnswer(push({ message: message() }), 200, "80300008")).msg, "too big here");
  });

  test("checks and authentication run before a scripted answer", async () => {
    hms.script(TOKEN, { code: "80300007" });
    await expectAnswer(push({ message: message({ data: {} }) }), 400, HMS_CODE.illegalStructure);
    await expectAnswer(push({ message: message() }, { token: "nope" }), 401, HMS_CODE.authenticationError);
    await expectAnswer(push({ message: message() }), 200, HMS_CODE.invalidTokens);
  });

  test("a delayed answer does not hold up others; reset destroys the connection", async () => {
    hms.script(TOKEN, { delayMs: 150 });
    const order: string[] = [];
    const slow = push({ message: message() }).then(() => order.push("slow"));
    const fast = push({ message: message({ token: [OTHER_TOKEN] }) }).then(() => order.push("fast"));
    await Promise.all([slow, fast]);
    assert.deepEqual(order, ["fast", "slow"]);
    hms.script(TOKEN, { reset: true });
    await assert.rejects(push({ message: message() }), /socket hang up|ECONNRESET/);
  });

  test("clearScripts() and reset() forget scripts; reset() also records, counters and faults", async () => {
    hms.script(TOKEN, { code: "80300007" });
    hms.clearScripts();
    await expectAnswer(push({ message: message() }), 200, HMS_CODE.success);
    hms.script(TOKEN, { code: "80300007" });
    hms.faults = { errorRate: 1 };
    hms.scriptTokenFailure(1, 503);
    hms.reset();
    assert.deepEqual([hms.received.length, hms.requests, hms.tokensIssued, hms.faults], [0, 0, 0, {}]);
    await expectAnswer(push({ message: message() }), 200, HMS_CODE.success);
    await fetchAccessToken(app);
  });
});

describe("HMS faults and shutdown", () => {
  test("errorRate 1: 503; resetRate 1: the connection is destroyed; latency delays", async () => {
    hms.faults = { errorRate: 1, latencyMs: [1, 5] };
    await expectAnswer(push({ message: message() }), 503, HMS_CODE.internalError);
    hms.faults = { resetRate: 1 };
    await assert.rejects(push({ message: message() }), /socket hang up|ECONNRESET/);
    hms.faults = { latencyMs: 60 };
    const started = Date.now();
    await expectAnswer(push({ message: message() }), 200, HMS_CODE.success);
    assert.ok(Date.now() - started >= 55);
    assert.equal(hms.received.length, 1);
  });

  test("close() finishes while requests hang (scripted and by fault)", async () => {
    const doomed = await HmsSandbox.start({ ca });
    const doomedApp = doomed.createApp();
    const form = {
      grant_type: "client_credentials",
      client_id: doomedApp.clientId,
      client_secret: doomedApp.clientSecret,
    };
    const granted = await httpsPost(doomed.tokenUrl, ca.certPem, {
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form).toString(),
    });
    const token = (JSON.parse(granted.body) as { access_token: string }).access_token;
    doomed.script(TOKEN, { hang: true });
    doomed.faults = { hangRate: 1 };
    const hang = (tokens: string[]) =>
      httpsPost(`${doomed.url}/v1/${doomedApp.appId}/messages:send`, ca.certPem, {
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ message: message({ token: tokens }) }),
      });
    // Both are expected to fail when the sandbox closes; the expectations are attached before that happens.
    const hung = [assert.rejects(hang([TOKEN])), assert.rejects(hang([OTHER_TOKEN]))];
    await waitFor("the hung requests at the sandbox", () => doomed.requests >= 2);
    await within("close() with requests hanging", doomed.close());
    await Promise.all(hung);
    assert.equal(doomed.received.length, 0);
  });
});
