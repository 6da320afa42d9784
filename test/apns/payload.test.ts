/**
 * APNs payloads against Sygnal's recorded ones (sygnal-fixtures/expected-provider-payloads.json), and the 4096-byte
 * truncation against a literal implementation of Sygnal's rule.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseNotificationBody } from "../../src/api/notificationBody.js";
import type { Device, JsonObject, Notification } from "../../src/core/notification.js";
import { apnsPriority, buildApnsPayload } from "../../src/pushkins/apns/payload.js";
import { encodeApnsPayload, PayloadTooLarge } from "../../src/pushkins/apns/truncate.js";
import { fixturesDir } from "../helpers/paths.js";

interface FixtureCase {
  notification: JsonObject;
  apns?: { payload: JsonObject; "apns-priority": number } | null;
  apns_with_default_payload?: { payload: JsonObject; "apns-priority": number } | null;
  apns_send_badge_counts_false?: { payload: JsonObject; "apns-priority": number } | null;
}
const fixtures = JSON.parse(readFileSync(join(fixturesDir, "expected-provider-payloads.json"), "utf8")) as {
  default_payload_used: JsonObject;
  cases: Record<string, FixtureCase>;
};

function toNotification(raw: JsonObject, device: JsonObject): Notification {
  const parsed = parseNotificationBody(Buffer.from(JSON.stringify({ notification: { ...raw, devices: [device] } })));
  assert.ok(parsed.ok);
  return parsed.notification;
}

/** The size Sygnal measured: Python's json.dumps separators (", ", ": "), non-ASCII unescaped. */
function pythonJsonBytes(value: unknown): number {
  const encode = (v: unknown): string => {
    if (Array.isArray(v)) return `[${v.map(encode).join(", ")}]`;
    if (v !== null && typeof v === "object") {
      return `{${Object.entries(v)
        .map(([k, x]) => `${JSON.stringify(k)}: ${encode(x)}`)
        .join(", ")}}`;
    }
    return JSON.stringify(v);
  };
  return Buffer.byteLength(encode(value));
}

/** Sygnal's truncation, literally: re-measure the whole payload after every removed code point. */
function referenceTruncate(payload: JsonObject, maxBytes: number): JsonObject {
  const p = structuredClone(payload);
  const aps = p.aps as JsonObject;
  const fields = (): [string, (s: string) => void][] => {
    if (typeof aps.alert === "string") return [[aps.alert, (s) => (aps.alert = s)]];
    const alert = aps.alert as JsonObject;
    const out: [string, (s: string) => void][] = [];
    if (typeof alert.body === "string") out.push([alert.body, (s) => (alert.body = s)]);
    (alert["loc-args"] as unknown[]).forEach((arg, i) => {
      if (typeof arg === "string") out.push([arg, (s) => ((alert["loc-args"] as unknown[])[i] = s)]);
    });
    return out;
  };
  while (Buffer.byteLength(JSON.stringify(p)) > maxBytes) {
    let best: [string, (s: string) => void] | undefined;
    for (const f of fields()) {
      const bytes = Buffer.byteLength(f[0]);
      if (bytes > 0 && (!best || bytes > Buffer.byteLength(best[0]))) best = f;
    }
    if (!best) throw new Error("cannot truncate");
    best[1](Array.from(best[0]).slice(0, -1).join(""));
  }
  return p;
}

const VARIANTS = [
  ["apns", { sendBadgeCounts: true }, false],
  ["apns_with_default_payload", { sendBadgeCounts: true }, true],
  ["apns_send_badge_counts_false", { sendBadgeCounts: false }, false],
] as const;

describe("APNs payloads equal Sygnal's", () => {
  const cases = Object.entries(fixtures.cases).filter(([, fixture]) => "apns" in fixture);
  test("the fixtures hold every APNs case (32 when recorded)", () => assert.ok(cases.length >= 32, `${cases.length}`));
  for (const [name, fixture] of cases) {
    for (const [variant, options, withDefaultPayload] of VARIANTS) {
      test(`${name} (${variant})`, () => {
        const device: JsonObject = { app_id: "com.example.apns", pushkey: "spqr" };
        if (withDefaultPayload) device.data = fixtures.default_payload_used;
        const n = toNotification(fixture.notification, device);
        const expected = fixture[variant];
        const payload = buildApnsPayload(n, n.devices[0] as Device, options);
        if (expected === null || expected === undefined) {
          assert.equal(payload, null, "nothing is sent");
          return;
        }
        assert.ok(payload);
        assert.equal(Number(apnsPriority(n)), expected["apns-priority"]);
        const sent = JSON.parse(encodeApnsPayload(payload)) as JsonObject;
        if (pythonJsonBytes(payload) <= 4096) {
          assert.deepEqual(sent, expected.payload);
        } else {
          // Sygnal truncated by the size of its spaced JSON; Herald by the compact JSON it sends (a documented
          // difference). The rule is the same: compare with the literal rule applied to the compact size.
          assert.deepEqual(sent, referenceTruncate(payload, 4096));
          assert.ok(Buffer.byteLength(JSON.stringify(sent)) <= 4096);
        }
      });
    }
  }
});

describe("truncation", () => {
  const alertPayload = (body: string, locArgs: string[] = []): JsonObject => ({
    aps: { alert: { body, "loc-key": "K", "loc-args": locArgs } },
  });
  const overhead = (p: JsonObject) => Buffer.byteLength(JSON.stringify(p));

  test("leaves a payload that fits alone", () => {
    const p = alertPayload("hello");
    assert.equal(encodeApnsPayload(p, 256), JSON.stringify(p));
  });
  test("a string alert is cut to the space left", () => {
    const p = { aps: { alert: "x".repeat(20) } };
    const limit = overhead({ aps: { alert: "" } }) + 5;
    assert.deepEqual(JSON.parse(encodeApnsPayload(p, limit)), { aps: { alert: "xxxxx" } });
  });
  test("the longest field loses characters first, then they shorten together", () => {
    const p = alertPayload("", ["a".repeat(10), "b".repeat(10)]);
    const limit = overhead(alertPayload("", ["", ""])) + 10;
    assert.deepEqual(JSON.parse(encodeApnsPayload(p, limit)), alertPayload("", ["aaaaa", "bbbbb"]));
  });
  test("ties go to the first field", () => {
    const p = alertPayload("", ["a".repeat(4), "b".repeat(4)]);
    const limit = overhead(alertPayload("", ["", ""])) + 7;
    assert.deepEqual(JSON.parse(encodeApnsPayload(p, limit)), alertPayload("", ["aaa", "bbbb"]));
  });
  test("whole code points are removed, never half of one", () => {
    const p = alertPayload("🐰".repeat(30));
    const limit = overhead(alertPayload("")) + 30;
    const body = (JSON.parse(encodeApnsPayload(p, limit)) as { aps: { alert: { body: string } } }).aps.alert.body;
    assert.equal(body, "🐰".repeat(7));
  });
  test("escaped characters count as sent: a quote is two bytes", () => {
    const p = alertPayload('"'.repeat(10));
    const limit = overhead(alertPayload("")) + 10;
    assert.deepEqual(JSON.parse(encodeApnsPayload(p, limit)), alertPayload('"'.repeat(5)));
  });
  test("a payload that cannot fit even with every text emptied is refused", () => {
    const p = { aps: { alert: { "loc-key": "K", "loc-args": [] } }, big: "x".repeat(5000) };
    assert.throws(() => encodeApnsPayload(p), PayloadTooLarge);
    assert.throws(() => encodeApnsPayload({ no_aps: "x".repeat(5000) }), PayloadTooLarge);
  });
  test("a 512 KiB body comes out at most 4096 bytes", () => {
    const p = alertPayload("", ["Major Tom", "Mission Control", "🦉 floating ".repeat(40_000)]);
    const json = encodeApnsPayload(p);
    assert.ok(Buffer.byteLength(json) <= 4096);
    assert.ok(Buffer.byteLength(json) >= 4090, "uses the room it has");
  });
  test("equals the literal rule on random payloads", () => {
    const alphabet = ["a", "Z", " ", '"', "\\", "\n", "\u0001", "é", "€", "☻", "🦉", "\u2028"];
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const text = (max: number) =>
      Array.from({ length: Math.floor(random() * max) }, () => alphabet[Math.floor(random() * alphabet.length)]).join(
        "",
      );
    for (let i = 0; i < 200; i++) {
      const p = alertPayload(
        text(80),
        Array.from({ length: Math.floor(random() * 4) }, () => text(120)),
      );
      const min = overhead(
        alertPayload(
          "",
          (p.aps as { alert: { "loc-args": string[] } }).alert["loc-args"].map(() => ""),
        ),
      );
      const limit = min + Math.floor(random() * (overhead(p) - min + 1));
      assert.deepEqual(JSON.parse(encodeApnsPayload(p, limit)), referenceTruncate(p, limit), JSON.stringify(p));
    }
  });
});
