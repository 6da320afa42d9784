/**
 * What a Push Kit answer means for the device, as classified from the HTTP status and body alone. Here the 80100000
 * partial success, whose `msg` is itself JSON: only the pushkey named as illegal is rejected, and a partial success
 * that does not say the one token sent was delivered is a failure, never a rejection.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { classifyHmsAnswer } from "../../src/pushkins/hms/answer.js";

const PUSHKEY = "hms-pushkey-0123456789";
const answer = (msg: unknown) =>
  classifyHmsAnswer(200, Buffer.from(JSON.stringify({ code: "80100000", msg, requestId: "1" })), PUSHKEY);

describe("HMS 80100000 partial success", () => {
  test("the one token sent counted as a success: delivered", () => {
    const verdict = answer(JSON.stringify({ success: 1, failure: 0, illegal_tokens: [] }));
    assert.equal(verdict.kind, "delivered");
    assert.equal(verdict.code, "80100000");
  });

  test("the pushkey named as illegal: rejected, even beside a success", () => {
    assert.equal(answer(JSON.stringify({ success: 0, failure: 1, illegal_tokens: [PUSHKEY] })).kind, "rejected");
    assert.equal(answer(JSON.stringify({ success: 1, failure: 1, illegal_tokens: [PUSHKEY] })).kind, "rejected");
  });

  const failures: [string, unknown][] = [
    ["no success and the pushkey not named", JSON.stringify({ success: 0, failure: 1, illegal_tokens: [] })],
    ["no success and another token named", JSON.stringify({ success: 0, failure: 1, illegal_tokens: ["other"] })],
    ["a msg that is not JSON", "partial success"],
    ["a msg that is JSON but no object", JSON.stringify([PUSHKEY])],
    ["no msg", undefined],
  ];
  for (const [name, msg] of failures) {
    test(`${name}: a failure that says what Push Kit answered, never a rejection`, () => {
      const verdict = answer(msg);
      assert.equal(verdict.kind, "fail");
      assert.ok(
        verdict.kind === "fail" && verdict.why.startsWith("HMS answered 200 80100000"),
        JSON.stringify(verdict),
      );
    });
  }
});
