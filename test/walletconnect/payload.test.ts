/**
 * The pure parts of the WalletConnect API: the payloads for APNs and FCM v1, the cleartext blob, message ids, the
 * bytes the relay signs, its timestamps, and did:keys.
 */
import assert from "node:assert/strict";
import { createHash, generateKeyPairSync, sign, verify } from "node:crypto";
import { describe, test } from "node:test";
import { didKeyOf, didKeyPublicKey } from "../../src/walletConnect/clientAuth.js";
import {
  apnsPayload,
  apnsPush,
  cleartextOf,
  decodeBlob,
  ENCRYPTED_TITLE,
  fcmMessage,
} from "../../src/walletConnect/payload.js";
import { messageIdOf, stripDidKey, type RelayMessage } from "../../src/walletConnect/request.js";
import { relaySignatureHeaders, signedMessage, timestampMs } from "../../src/walletConnect/signature.js";

const raw: RelayMessage = { shape: "raw", topic: "t", tag: 1100, message: "m" };
const encrypted: RelayMessage = { shape: "legacy", id: "i", topic: "t", flags: 1, blob: "b" };
const base64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64");

describe("payloads", () => {
  test("APNs: raw, legacy encrypted and legacy cleartext, as WalletConnect's push server builds them", () => {
    const aps = { alert: { title: ENCRYPTED_TITLE }, "content-available": 1, "mutable-content": 1 };
    assert.deepEqual(apnsPayload(raw, undefined), { aps, topic: "t", tag: 1100, message: "m" });
    assert.deepEqual(apnsPayload(encrypted, undefined), { aps, topic: "t", blob: "b" });
    assert.deepEqual(apnsPayload({ ...encrypted, flags: 0 }, { title: "T", body: "B" }), {
      aps: { ...aps, alert: { title: "T", body: "B" } },
      topic: "t",
    });
  });

  test("APNs: the headers, the token as registered (the client encodes it into the path), nothing over 4096 bytes", () => {
    const push = apnsPush(raw, undefined, "ab/../cd", "org.example.app")!;
    assert.equal(push.token, "ab/../cd");
    assert.deepEqual(push.headers, {
      "apns-topic": "org.example.app",
      "apns-push-type": "alert",
      "apns-priority": "10",
    });
    assert.equal(apnsPush({ ...raw, message: "x".repeat(4096) }, undefined, "ab", "t"), undefined);
  });

  test("FCM v1: data as strings, HIGH on Android, content-available for iOS, a notification for cleartext", () => {
    const common = { android: { priority: "HIGH" }, apns: { payload: { aps: { "content-available": 1 } } } };
    assert.deepEqual(fcmMessage(raw, undefined, "tok"), {
      message: { token: "tok", data: { topic: "t", tag: "1100", message: "m" }, ...common },
    });
    assert.deepEqual(fcmMessage({ ...encrypted, flags: 6 }, { title: "T", body: "B" }, "tok"), {
      message: {
        token: "tok",
        data: { topic: "t", flags: "6", blob: "b" },
        notification: { title: "T", body: "B" },
        ...common,
      },
    });
  });

  test("the cleartext blob: only flag bit 0 clear; canonical padded base64 of {title, body}", () => {
    assert.equal(cleartextOf(raw), undefined);
    assert.equal(cleartextOf({ ...encrypted, flags: 3 }), undefined);
    assert.deepEqual(decodeBlob(base64({ title: "T", body: "B", image: null, extra: 1 })), {
      ok: true,
      cleartext: { title: "T", body: "B" },
    });
    const problem = (blob: string) => {
      const decoded = decodeBlob(blob);
      return decoded.ok ? "ok" : decoded.problem;
    };
    assert.equal(problem("eyJ0aXRsZSI6IlQiLCJib2R5IjoiQiJ9"), "ok");
    for (const bad of ["not base64!", "QQ", "QR==", "eyJ0aXRsZSI6IlQiLCJib2R5IjoiQiJ9 ", "eyJ0aXRsZS=="]) {
      assert.equal(problem(bad), "base64", bad);
    }
    for (const bad of ["", "eyJ0"]) assert.equal(problem(bad), "json", bad);
    assert.deepEqual(decodeBlob(base64({ title: "T" })), { ok: false, problem: "json" });
    assert.deepEqual(decodeBlob(base64({ title: "T", body: "B", url: 5 })), { ok: false, problem: "json" });
    assert.deepEqual(decodeBlob(base64([1])), { ok: false, problem: "json" });
  });
});

describe("ids and signatures", () => {
  test("message ids: SHA-256 hex of a raw message's UTF-8, a legacy message's id", () => {
    assert.equal(messageIdOf({ ...raw, message: "é" }), createHash("sha256").update(Buffer.from("é")).digest("hex"));
    assert.equal(messageIdOf(encrypted), "i");
  });

  test("the relay signs timestamp, body length in bytes, body; invalid UTF-8 is read as U+FFFD", () => {
    assert.equal(signedMessage("17", Buffer.from('{"a":"é"}')).toString(), '17.10.{"a":"é"}');
    assert.equal(signedMessage("1", Buffer.from([0xff])).toString(), "1.3.\ufffd");
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const headers = relaySignatureHeaders(Buffer.from("body"), privateKey, 1_700_000_000_500);
    assert.equal(headers["X-Ed25519-Timestamp"], "1700000000");
    const expected = Buffer.from("1700000000.4.body");
    assert.ok(verify(null, expected, publicKey, Buffer.from(headers["X-Ed25519-Signature"]!, "hex")));
    assert.equal(headers["X-Ed25519-Signature"], sign(null, expected, privateKey).toString("hex"));
  });

  test("timestamps: Unix seconds, or milliseconds from 12 digits on; anything else unreadable", () => {
    assert.equal(timestampMs("1700000000"), 1_700_000_000_000);
    assert.equal(timestampMs("1700000000123"), 1_700_000_000_123);
    for (const bad of ["", "-1", "1.5", "17e8", "12345678901234567"]) assert.equal(timestampMs(bad), undefined, bad);
  });

  test("did:keys: every leading did:key: stripped, the ed25519 key read back", () => {
    assert.equal(stripDidKey("did:key:did:key:z6Mk"), "z6Mk");
    const key = Buffer.alloc(32, 7);
    const did = didKeyOf(key);
    assert.match(did, /^did:key:z6Mk/);
    assert.deepEqual(didKeyPublicKey(did), key);
    assert.equal(didKeyPublicKey(did.slice("did:key:".length)), undefined);
    assert.equal(didKeyPublicKey("did:key:z0OIl"), undefined);
  });
});
