/**
 * Threema's message encryption against tweetnacl's own `crypto_box` (what the phone opens it with), push-relay's
 * plaintext framing, the recipient checks, and what each `/send_e2e` answer means.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import nacl from "tweetnacl";
import { classifyThreemaAnswer } from "../../src/pushkins/threema/answer.js";
import { pushPlaintext, sealForRecipient, x25519PrivateKey } from "../../src/pushkins/threema/crypto.js";
import { isThreemaUserId, parsePublicKeyHex } from "../../src/pushkins/threema/recipient.js";

describe("push-relay's plaintext", () => {
  test("is 0xFE, the UTF-8 JSON, and one byte of padding 0x01", () => {
    const message = { room_name: "Mission Contröl 🚀", unread: "2" };
    const json = Buffer.from('{"room_name":"Mission Contröl 🚀","unread":"2"}', "utf8");
    assert.deepEqual(pushPlaintext(message), Buffer.concat([Buffer.of(0xfe), json, Buffer.of(0x01)]));
  });
});

describe("sealForRecipient", () => {
  const gateway = nacl.box.keyPair();
  const phone = nacl.box.keyPair();
  const gatewayKey = x25519PrivateKey(gateway.secretKey);
  const plaintext = pushPlaintext({ event_id: "$e", prio: "high" });

  test("makes a box the phone opens with nacl.box.open, its secret key and the gateway's public key", () => {
    const sealed = sealForRecipient(plaintext, phone.publicKey, gatewayKey);
    assert.ok(sealed);
    assert.equal(sealed.nonce.length, 24);
    assert.equal(sealed.box.length, plaintext.length + nacl.box.overheadLength);
    const opened = nacl.box.open(sealed.box, sealed.nonce, gateway.publicKey, phone.secretKey);
    assert.ok(opened, "the box opens");
    assert.deepEqual(Buffer.from(opened), plaintext);
  });

  test("is the very box nacl.box makes with the same nonce", () => {
    const sealed = sealForRecipient(plaintext, phone.publicKey, gatewayKey);
    assert.ok(sealed);
    const expected = nacl.box(plaintext, sealed.nonce, phone.publicKey, gateway.secretKey);
    assert.deepEqual(sealed.box, Buffer.from(expected));
  });

  test("draws a new nonce each time", () => {
    const nonces = new Set(
      Array.from({ length: 5 }, () => sealForRecipient(plaintext, phone.publicKey, gatewayKey)?.nonce.toString("hex")),
    );
    assert.equal(nonces.size, 5);
  });

  test("no one else opens it: not another phone, nor with another gateway's key", () => {
    const sealed = sealForRecipient(plaintext, phone.publicKey, gatewayKey);
    assert.ok(sealed);
    const other = nacl.box.keyPair();
    assert.equal(nacl.box.open(sealed.box, sealed.nonce, gateway.publicKey, other.secretKey), null);
    assert.equal(nacl.box.open(sealed.box, sealed.nonce, other.publicKey, phone.secretKey), null);
  });

  test("refuses an all-zero public key, which has no shared secret", () => {
    assert.equal(sealForRecipient(plaintext, new Uint8Array(32), gatewayKey), undefined);
  });
});

describe("recipients", () => {
  test("a Threema ID is 8 digits or capitals (or '*'), the first not '*'", () => {
    for (const id of ["ECHOECHO", "9ZX4K2AB", "A*BCDEFG"]) assert.ok(isThreemaUserId(id), id);
    for (const id of ["*3MAPUSH", "echoecho", "ECHOECH", "ECHOECHOE", "ECHO-ECH", ""]) {
      assert.ok(!isThreemaUserId(id), id);
    }
  });

  test("a public key is 64 hex characters of either case", () => {
    const hex = "0123456789abcdef".repeat(4);
    assert.deepEqual(parsePublicKeyHex(hex), Buffer.from(hex, "hex"));
    assert.deepEqual(parsePublicKeyHex(hex.toUpperCase()), Buffer.from(hex, "hex"));
    for (const bad of [hex.slice(1), `${hex}00`, `${hex.slice(2)}zz`, ` ${hex.slice(1)}`, 42, undefined, null]) {
      assert.equal(parsePublicKeyHex(bad), undefined, String(bad));
    }
  });
});

describe("what a /send_e2e answer means", () => {
  const answer = (status: number, body = "", headers = {}) => classifyThreemaAnswer(status, Buffer.from(body), headers);

  test("200 is delivered, with the message id when the body is one", () => {
    assert.deepEqual(answer(200, "0123456789abcdef\n"), { kind: "delivered", messageId: "0123456789abcdef" });
    assert.deepEqual(answer(200, "<html>"), { kind: "delivered", messageId: undefined });
  });

  test("400 rejects", () => {
    assert.equal(answer(400).kind, "rejected");
  });

  test("401, 402 and 413 fail, saying what to fix", () => {
    assert.deepEqual(answer(401), {
      kind: "fail",
      why: "Threema Gateway answered 401: the gateway ID or its API secret is wrong: check identity and secret",
    });
    assert.match(
      (answer(402) as { why: string }).why,
      /^Threema Gateway answered 402: the gateway account has no credits/,
    );
    assert.match((answer(413) as { why: string }).why, /^Threema Gateway answered 413: the message is too long/);
  });

  test("429 and 5xx are retried, with the Retry-After", () => {
    assert.deepEqual(answer(429, "", { "retry-after": "7" }), {
      kind: "retry",
      why: "Threema Gateway answered 429",
      retryAfter: 7,
    });
    assert.deepEqual(answer(503), { kind: "retry", why: "Threema Gateway answered 503", retryAfter: undefined });
    assert.equal(answer(500).kind, "retry");
  });

  test("anything else fails", () => {
    for (const status of [204, 302, 403, 404, 405]) assert.equal(answer(status).kind, "fail", String(status));
  });
});
