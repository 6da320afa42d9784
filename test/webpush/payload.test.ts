/** WebPush plaintexts against Sygnal's recorded ones (sygnal-fixtures/expected-provider-payloads.json). */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseNotificationBody } from "../../src/api/notificationBody.js";
import type { JsonObject, Notification } from "../../src/core/notification.js";
import { buildWebPushPayload, roomTopic, urgencyOf } from "../../src/pushkins/webpush/payload.js";
import { fixturesDir } from "../helpers/paths.js";

const fixtures = JSON.parse(readFileSync(join(fixturesDir, "expected-provider-payloads.json"), "utf8")) as {
  cases: Record<string, JsonObject & { notification?: JsonObject; webpush_plaintext_payload?: JsonObject }>;
};

function notificationOf(raw: JsonObject, data?: JsonObject): Notification {
  const device: JsonObject = { app_id: "com.example.web", pushkey: "p256dh", ...(data ? { data } : {}) };
  const parsed = parseNotificationBody(Buffer.from(JSON.stringify({ notification: { ...raw, devices: [device] } })));
  assert.ok(parsed.ok);
  return parsed.notification;
}

describe("WebPush plaintexts equal Sygnal's", () => {
  const cases = Object.entries(fixtures.cases).filter(
    ([, fixture]) => fixture.notification && fixture.webpush_plaintext_payload !== undefined,
  );
  test("the fixtures hold every WebPush case (32 when recorded)", () =>
    assert.ok(cases.length >= 32, `${cases.length}`));
  for (const [name, fixture] of cases) {
    test(name, () => {
      const n = notificationOf(fixture.notification!);
      assert.deepEqual(buildWebPushPayload(n, n.devices[0]!), fixture.webpush_plaintext_payload);
    });
  }

  test("a default_payload under the fields, and a long body cut to 1000 characters", () => {
    const full = fixtures.cases.full!.notification!;
    const n = notificationOf(
      { ...full, content: { msgtype: "m.text", body: "y".repeat(1500) } },
      { default_payload: { account: "@me:hs" } },
    );
    const expected = { ...fixtures.cases._webpush_default_payload_and_long_body! };
    assert.deepEqual(buildWebPushPayload(n, n.devices[0]!), expected);
  });

  test("a default_payload that is not an object is ignored, not rejected", () => {
    const n = notificationOf({ event_id: "$e", counts: { unread: 1 } }, { default_payload: "x" });
    assert.deepEqual(buildWebPushPayload(n, n.devices[0]!), { event_id: "$e", unread: 1 });
  });

  test("a long ciphertext is dropped; body is cut by code points", () => {
    const n = notificationOf({ event_id: "$e", content: { ciphertext: "c".repeat(2001), body: "🦉".repeat(1001) } });
    const content = buildWebPushPayload(n, n.devices[0]!).content as JsonObject;
    assert.equal(content.ciphertext, undefined);
    assert.equal(Array.from(content.body as string).length, 1000);
    assert.ok((content.body as string).endsWith("🦉…"));
  });
});

describe("headers", () => {
  test("Topic is Sygnal's BLAKE2s digest of the room id", () => {
    assert.equal(roomTopic("!slw48wfj34rtnrf:example.com"), "KT_bhozU196tNhXVsoCxGq9v4bKaoA==");
  });
  test("Urgency is low only for prio low", () => {
    assert.equal(urgencyOf({ prio: "low", counts: {}, devices: [] }), "low");
    assert.equal(urgencyOf({ prio: "high", counts: {}, devices: [] }), "normal");
  });
});
