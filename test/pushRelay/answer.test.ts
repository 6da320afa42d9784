/**
 * The answer to each provider outcome, row by row against push-relay's code (server.rs, errors.rs and each
 * send_push), and Herald's two differences. The rows that a sandbox can produce are also tested over sockets in
 * relay.test.ts; the Threema Gateway rows are tested here, its sender being wired separately.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PermanentFailure, TemporaryFailure } from "../../src/core/pushkin.js";
import { answerFor, answerForFailure } from "../../src/pushRelay/answer.js";
import type { PushType } from "../../src/pushRelay/request.js";

const permanent = (status: number, reason?: string) => new PermanentFailure("refused", { answer: { status, reason } });
const status = (type: PushType, error: unknown) => answerForFailure(type, error).status;

describe("every provider", () => {
  for (const type of ["fcm", "apns", "hms", "threema-gateway"] as const) {
    test(`${type}: delivered 204, not configured 400, unreachable or transient 502, our bug 500`, () => {
      assert.deepEqual(answerFor(type, { kind: "delivered" }), { status: 204, outcome: "delivered" });
      assert.deepEqual(answerFor(type, { kind: "refused", why: "" }), { status: 400, outcome: "refused" });
      assert.deepEqual(answerForFailure(type, new TemporaryFailure("cannot connect")), {
        status: 502,
        outcome: "failed",
      });
      assert.equal(status(type, new TemporaryFailure("503", { answer: { status: 503 } })), 502);
      assert.deepEqual(answerForFailure(type, new TypeError("bug")), { status: 500, outcome: "error" });
      // The token endpoint refused the credentials: push-relay's RemoteAuth.
      assert.equal(status(type, new PermanentFailure("refused the token request")), 500);
    });
  }
});

test("a dead token is 400, except the Threema Gateway's bad recipient, which push-relay answers 502", () => {
  for (const type of ["fcm", "apns", "hms"] as const) {
    assert.equal(answerFor(type, { kind: "rejected", why: "" }).status, 400);
  }
  assert.equal(answerFor("threema-gateway", { kind: "rejected", why: "" }).status, 502);
});

describe("APNs", () => {
  for (const reason of [
    "ExpiredToken",
    "BadDeviceToken",
    "Unregistered",
    "BadEnvironmentKeyIdInToken",
    "UnrelatedKeyIdInToken",
    "BadExpirationDate",
    "BadTopic",
    "DeviceTokenNotForTopic",
    "TopicDisallowed",
  ]) {
    test(`${reason}: 400`, () => assert.equal(status("apns", permanent(400, reason)), 400));
  }
  for (const reason of [
    "BadCollapseId",
    "PayloadTooLarge",
    "InvalidProviderToken",
    "ExpiredProviderToken",
    "MissingTopic",
  ]) {
    test(`${reason}: 502`, () => assert.equal(status("apns", permanent(400, reason)), 502));
  }
  test("no reason: 502", () => assert.equal(status("apns", permanent(400)), 502));
});

describe("FCM", () => {
  for (const code of [400, 401, 402, 404]) {
    test(`${code}: 400`, () => assert.equal(status("fcm", permanent(code)), 400));
  }
  for (const code of [403, 405, 413]) {
    test(`${code}: 502`, () => assert.equal(status("fcm", permanent(code, "SENDER_ID_MISMATCH")), 502));
  }
});

describe("HMS", () => {
  const rows: [number, string | undefined, number][] = [
    [400, "80100001", 400],
    [400, undefined, 400],
    [200, "80100000", 400],
    [200, "80300007", 400],
    [200, "81000001", 502],
    [401, "80200001", 502],
    [401, "80200003", 502],
    [503, undefined, 502],
    [200, "80100003", 500],
    [200, "80300008", 500],
    [200, "80300011", 500],
    [200, undefined, 500],
    [403, undefined, 500],
  ];
  for (const [httpStatus, code, expected] of rows) {
    test(`HTTP ${httpStatus} ${code ?? "(no code)"}: ${expected}`, () =>
      assert.equal(status("hms", permanent(httpStatus, code)), expected));
  }
});

describe("Threema Gateway", () => {
  for (const code of [400, 401, 402, 413]) {
    test(`${code}: 502`, () => assert.equal(status("threema-gateway", permanent(code)), 502));
  }
  for (const code of [403, 404]) {
    test(`${code}: 500`, () => assert.equal(status("threema-gateway", permanent(code)), 500));
  }
});
