/** The small pure parts of the APNs pushkin: device tokens, answer classification, Retry-After. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseRetryAfter } from "../../src/core/retry.js";
import { classifyApnsAnswer } from "../../src/pushkins/apns/answer.js";
import { base64PushkeyToHex } from "../../src/pushkins/apns/deviceToken.js";

describe("base64 pushkeys to hex device tokens, as Python's b64decode reads them", () => {
  const token = "c0ffee00deadbeef" + "0123456789abcdef".repeat(3);
  const pushkey = Buffer.from(token, "hex").toString("base64");

  test("a base64 pushkey becomes the lowercase hex token", () => {
    assert.equal(base64PushkeyToHex(pushkey), token);
  });
  test("characters outside the alphabet are ignored", () => {
    assert.equal(base64PushkeyToHex(`${pushkey.slice(0, 10)}\n ${pushkey.slice(10)}`), token);
  });
  test("padding is required where the data needs it", () => {
    assert.equal(base64PushkeyToHex("YWJj"), "616263");
    assert.equal(base64PushkeyToHex("YWI="), "6162");
    assert.equal(base64PushkeyToHex("YWI"), undefined, "missing padding");
    assert.equal(base64PushkeyToHex("YQ=="), "61");
    assert.equal(base64PushkeyToHex("YQ="), undefined);
    assert.equal(base64PushkeyToHex("YWJjZ"), undefined, "one data character too many");
  });
  test("an FCM token (with ':') or an empty pushkey cannot be decoded", () => {
    assert.equal(base64PushkeyToHex("fGx2c1:APA91bH"), undefined);
    assert.equal(base64PushkeyToHex(""), undefined);
  });
});

describe("APNs answers", () => {
  const cases: [number, string | undefined, string][] = [
    [200, undefined, "delivered"],
    [410, "Unregistered", "rejected"],
    [410, "ExpiredToken", "rejected"],
    [400, "BadDeviceToken", "rejected"],
    [400, "DeviceTokenNotForTopic", "rejected"],
    [403, "ExpiredProviderToken", "renew-token"],
    [429, "TooManyRequests", "retry"],
    [500, "InternalServerError", "retry"],
    [503, "ServiceUnavailable", "retry"],
    [400, "TopicDisallowed", "configuration-error"],
    [400, "BadTopic", "configuration-error"],
    [403, "InvalidProviderToken", "configuration-error"],
    [403, "BadCertificate", "configuration-error"],
    [413, "PayloadTooLarge", "configuration-error"],
    [410, undefined, "configuration-error"],
    [400, undefined, "configuration-error"],
  ];
  for (const [status, reason, kind] of cases) {
    test(`${status} ${reason ?? "(no reason)"} → ${kind}`, () => {
      assert.equal(classifyApnsAnswer(status, reason).kind, kind);
    });
  }
});

describe("Retry-After", () => {
  test("seconds or an HTTP date", () => {
    assert.equal(parseRetryAfter("7"), 7);
    assert.equal(parseRetryAfter(["3"]), 3);
    assert.equal(parseRetryAfter(new Date(Date.UTC(2030, 0, 1, 0, 0, 30)).toUTCString(), Date.UTC(2030, 0, 1)), 30);
    assert.equal(parseRetryAfter(undefined), undefined);
    assert.equal(parseRetryAfter("soon"), undefined);
  });
});
