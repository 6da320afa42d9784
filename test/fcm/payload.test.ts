/** FCM bodies against Sygnal's recorded ones (sygnal-fixtures/expected-provider-payloads.json). */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseNotificationBody } from "../../src/api/notificationBody.js";
import type { JsonObject, Notification } from "../../src/core/notification.js";
import { buildFcmData, legacyBody, truncateUtf8, v1Body, type FcmApi } from "../../src/pushkins/fcm/payload.js";
import { fixturesDir } from "../helpers/paths.js";

type Bodies = JsonObject[];
interface FixtureCase {
  notification?: JsonObject;
  gcm_legacy_body?: Bodies;
  gcm_v1_body?: Bodies;
  gcm_legacy_body_send_badge_counts_false?: Bodies;
  requests?: { body: JsonObject; pushkeys: string[] }[];
  rejected_per_device?: string[][];
}
const fixtures = JSON.parse(readFileSync(join(fixturesDir, "expected-provider-payloads.json"), "utf8")) as {
  default_payload_used: JsonObject;
  cases: Record<string, FixtureCase>;
};

function notificationOf(raw: JsonObject, data?: JsonObject): Notification {
  const device: JsonObject = { app_id: "com.example.gcm", pushkey: "spqr", ...(data ? { data } : {}) };
  const parsed = parseNotificationBody(Buffer.from(JSON.stringify({ notification: { ...raw, devices: [device] } })));
  assert.ok(parsed.ok);
  return parsed.notification;
}

/** The bodies Herald sends for one device, or [] when it sends nothing. */
function bodies(
  n: Notification,
  api: FcmApi,
  options: { sendBadgeCounts?: boolean; fcmOptions?: JsonObject } = {},
): Bodies {
  const built = buildFcmData(n, n.devices[0]!, api, options.sendBadgeCounts ?? true);
  if (built.kind !== "data") return [];
  const fcmOptions = options.fcmOptions ?? {};
  return [api === "v1" ? v1Body(built.data, fcmOptions, n, "spqr") : legacyBody(built.data, fcmOptions, n, ["spqr"])];
}

/** Herald's one deliberate difference: v1 data values that are not strings are sent JSON-encoded. */
function withStringData(v1: Bodies): Bodies {
  return v1.map((body) => {
    const message = body.message as JsonObject;
    const data = Object.fromEntries(
      Object.entries(message.data as JsonObject).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
    );
    return { message: { ...message, data } };
  });
}

describe("FCM bodies equal Sygnal's", () => {
  const cases = Object.entries(fixtures.cases).filter(([, fixture]) => fixture.notification && fixture.gcm_legacy_body);
  test("the fixtures hold every FCM case (32 when recorded)", () => assert.ok(cases.length >= 32, `${cases.length}`));
  for (const [name, fixture] of cases) {
    test(name, () => {
      const n = notificationOf(fixture.notification!);
      assert.deepEqual(bodies(n, "legacy"), fixture.gcm_legacy_body, "legacy");
      assert.deepEqual(bodies(n, "v1"), withStringData(fixture.gcm_v1_body!), "v1");
      assert.deepEqual(
        bodies(n, "legacy", { sendBadgeCounts: false }),
        fixture.gcm_legacy_body_send_badge_counts_false,
      );
    });
  }

  const full = fixtures.cases.full!.notification!;
  const requestBodies = (name: string) => fixtures.cases[name]!.requests!.map((r) => r.body);

  test("legacy, two devices in one request", () => {
    const n = notificationOf(full);
    const built = buildFcmData(n, n.devices[0]!, "legacy", true);
    assert.ok(built.kind === "data");
    assert.deepEqual(
      [legacyBody(built.data, {}, n, ["spqr", "spqr2"])],
      requestBodies("_gcm_legacy_batch_two_devices"),
    );
  });
  test("legacy with fcm_options", () => {
    const fcmOptions = { content_available: true, mutable_content: true };
    assert.deepEqual(
      bodies(notificationOf(full), "legacy", { fcmOptions }),
      requestBodies("_gcm_legacy_with_fcm_options"),
    );
  });
  test("v1 with fcm_options for android and apns", () => {
    const fcmOptions = {
      android: { notification: { body: "test body" } },
      apns: { payload: { aps: { "content-available": 1, "mutable-content": 1, alert: "" } } },
    };
    assert.deepEqual(
      bodies(notificationOf(full), "v1", { fcmOptions }),
      requestBodies("_gcm_v1_with_fcm_options_android_apns"),
    );
  });
  test("a default_payload is the base of the data", () => {
    const n = notificationOf(full, fixtures.default_payload_used);
    assert.deepEqual(bodies(n, "legacy"), requestBodies("_gcm_legacy_default_payload"));
    assert.deepEqual(bodies(n, "v1"), withStringData(requestBodies("_gcm_v1_default_payload")));
  });
  test("a default_payload that is not an object: the device is rejected, nothing is sent", () => {
    const n = notificationOf(full, { default_payload: null });
    assert.equal(buildFcmData(n, n.devices[0]!, "v1", true).kind, "bad-default-payload");
    assert.deepEqual(fixtures.cases._gcm_bad_default_payload!.rejected_per_device, [["spqr"]]);
  });
  test("low priority without badge counts", () => {
    const n = notificationOf({ ...full, prio: "low" });
    assert.deepEqual(bodies(n, "v1", { sendBadgeCounts: false }), requestBodies("_gcm_v1_low_prio_badge_send_false"));
  });
  test("fcm_options cannot overwrite what Herald sets", () => {
    const n = notificationOf(full);
    const [body] = bodies(n, "v1", { fcmOptions: { token: "other", data: { x: "y" } } });
    assert.equal((body!.message as JsonObject).token, "spqr");
    assert.equal(((body!.message as JsonObject).data as JsonObject).x, undefined);
  });
});

describe("truncateUtf8", () => {
  test("leaves short strings alone", () => {
    assert.equal(truncateUtf8("hello", 1024), "hello");
    assert.equal(truncateUtf8("x".repeat(1024), 1024), "x".repeat(1024));
  });
  test("cuts to maxBytes - 3 and adds an ellipsis", () => {
    const out = truncateUtf8("x".repeat(2000), 1024);
    assert.equal(out, `${"x".repeat(1021)}…`);
    assert.equal(Buffer.byteLength(out), 1024);
  });
  test("never cuts a character in two", () => {
    const text = `${"x".repeat(1019)}⚑${"y".repeat(100)}`; // ⚑ takes bytes 1019-1021
    assert.equal(truncateUtf8(text, 1024), `${"x".repeat(1019)}…`);
  });
});
