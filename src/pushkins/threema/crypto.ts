/**
 * Threema's end-to-end encryption for a Gateway message (pure): NaCl `crypto_box`, i.e. X25519 between the gateway's
 * private key and the recipient's public key, HSalsa20 to turn the shared secret into a key, and XSalsa20-Poly1305
 * with a random 24-byte nonce. The plaintext is push-relay's: the message type byte 0xFE, the JSON, and one byte of
 * PKCS#7-style padding (0x01); push-relay pads no further, since the sender's ID already tells what is being sent.
 *
 * The X25519 step runs in node:crypto (OpenSSL), the rest in tweetnacl: with tweetnacl's own scalar multiplication,
 * in plain JavaScript, a message costs about three times the CPU (0.8 ms instead of 0.25 ms, warmed up).
 */
import { createPrivateKey, createPublicKey, diffieHellman, randomBytes, type KeyObject } from "node:crypto";
import nacl from "tweetnacl";

/** The type byte of the message Threema Web's push-relay sends: a push for the app, not a chat message. */
export const PUSH_MESSAGE_TYPE = 0xfe;
export const NONCE_BYTES = 24;
export const KEY_BYTES = 32;

export interface SealedBox {
  nonce: Buffer;
  box: Buffer;
}

/** 0xFE ‖ the UTF-8 JSON of `message` ‖ 0x01. */
export function pushPlaintext(message: object): Buffer {
  return Buffer.concat([Buffer.of(PUSH_MESSAGE_TYPE), Buffer.from(JSON.stringify(message), "utf8"), Buffer.of(1)]);
}

/** The gateway's private key (32 raw bytes), made once into a key node:crypto computes X25519 with. */
export function x25519PrivateKey(raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519, raw]), format: "der", type: "pkcs8" });
}

/**
 * `crypto_box(plaintext, nonce, recipientPublicKey, gatewayPrivateKey)` with a fresh random nonce. Undefined when the
 * public key is one of the few points whose shared secret is zero: no message to that key can be kept secret, and
 * OpenSSL refuses it.
 */
export function sealForRecipient(
  plaintext: Uint8Array,
  recipientPublicKey: Uint8Array,
  gatewayPrivateKey: KeyObject,
): SealedBox | undefined {
  const publicKey = createPublicKey({
    key: Buffer.concat([SPKI_X25519, recipientPublicKey]),
    format: "der",
    type: "spki",
  });
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: gatewayPrivateKey, publicKey });
  } catch {
    return undefined;
  }
  // What nacl.box.before does after its scalar multiplication.
  const key = new Uint8Array(KEY_BYTES);
  lowlevel().crypto_core_hsalsa20(key, new Uint8Array(16), shared, SIGMA);
  const nonce = randomBytes(NONCE_BYTES);
  return { nonce, box: Buffer.from(nacl.secretbox(plaintext, nonce, key)) };
}

/** The DER headers of a raw X25519 key (RFC 8410): the 32 key bytes follow. */
const PKCS8_X25519 = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_X25519 = Buffer.from("302a300506032b656e032100", "hex");
/** Salsa20's constant, "expand 32-byte k". */
const SIGMA = new Uint8Array(Buffer.from("expand 32-byte k", "latin1"));

/** tweetnacl's C-style functions, which it exports as `nacl.lowlevel` but leaves out of its type definitions. */
interface NaclLowLevel {
  crypto_core_hsalsa20(out: Uint8Array, input: Uint8Array, key: Uint8Array, constant: Uint8Array): number;
}

function lowlevel(): NaclLowLevel {
  return (nacl as unknown as { lowlevel: NaclLowLevel }).lowlevel;
}
