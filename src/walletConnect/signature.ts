/**
 * The relay's signature on `POST /clients/:id`, as WalletConnect's push server checks it
 * (middleware/validate_signature.rs): `X-Ed25519-Signature` is the hex of an ed25519 signature, by the relay's key, of
 * `"{timestamp}.{body length in bytes}.{body}"`, with `X-Ed25519-Timestamp` as the timestamp. The body is read as
 * UTF-8 with U+FFFD for what is not, as Rust's `from_utf8_lossy` reads it.
 *
 * Beyond the original: the timestamp must be within `window` seconds of this machine's clock (the original reads it as
 * an opaque string); a signature that is not hex, or not 64 bytes, is refused like one that does not verify (the
 * original answers 500).
 */
import { sign, verify, type KeyObject } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

export type SignatureCheck =
  | { ok: true }
  | {
      ok: false;
      /** Which answer: both headers named (missing both, or refused), or the one missing. */
      answer: "refused" | "signature-missing" | "timestamp-missing";
      /** For the metric and the log. */
      reason: "missing" | "malformed" | "invalid" | "stale";
      why: string;
    };

const SIGNATURE_BYTES = 64;
/** Timestamps of this many digits or more are milliseconds: in seconds they would be after the year 5000. */
const MILLISECOND_DIGITS = 12;
const lossyUtf8 = new TextDecoder("utf-8", { ignoreBOM: true });

export function checkRelaySignature(
  headers: IncomingHttpHeaders,
  body: Buffer,
  key: KeyObject,
  windowSeconds: number,
  nowMs: number,
): SignatureCheck {
  const signature = readableHeader(headers, "x-ed25519-signature");
  const timestamp = readableHeader(headers, "x-ed25519-timestamp");
  if (signature === undefined && timestamp === undefined) {
    return {
      ok: false,
      answer: "refused",
      reason: "missing",
      why: "no X-Ed25519-Signature and no X-Ed25519-Timestamp",
    };
  }
  if (signature === undefined) {
    return { ok: false, answer: "signature-missing", reason: "missing", why: "no X-Ed25519-Signature" };
  }
  if (timestamp === undefined) {
    return { ok: false, answer: "timestamp-missing", reason: "missing", why: "no X-Ed25519-Timestamp" };
  }
  const refused = (reason: "malformed" | "invalid" | "stale", why: string): SignatureCheck => ({
    ok: false,
    answer: "refused",
    reason,
    why,
  });
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(signature) || signature.length !== SIGNATURE_BYTES * 2) {
    return refused("malformed", `X-Ed25519-Signature is not ${SIGNATURE_BYTES} bytes in hex`);
  }
  if (windowSeconds > 0) {
    const at = timestampMs(timestamp);
    if (at === undefined) return refused("malformed", "X-Ed25519-Timestamp is not a Unix time");
    const skew = (at - nowMs) / 1000;
    if (Math.abs(skew) > windowSeconds) {
      return refused(
        "stale",
        `X-Ed25519-Timestamp is ${Math.round(Math.abs(skew))}s in the ${skew < 0 ? "past" : "future"} (at most ${windowSeconds}s)`,
      );
    }
  }
  if (!verify(null, signedMessage(timestamp, body), key, Buffer.from(signature, "hex"))) {
    return refused("invalid", "the signature does not verify with the relay's public key");
  }
  return { ok: true };
}

/** What the relay signs for a body sent with `timestamp`. */
export function signedMessage(timestamp: string, body: Uint8Array): Buffer {
  const text = Buffer.from(lossyUtf8.decode(body), "utf8");
  return Buffer.concat([Buffer.from(`${timestamp}.${text.length}.`, "utf8"), text]);
}

/** The two signature headers for a body, as the relay sends them: the timestamp in Unix seconds, the signature in hex. */
export function relaySignatureHeaders(body: Uint8Array, key: KeyObject, nowMs: number): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  return {
    "X-Ed25519-Signature": sign(null, signedMessage(timestamp, body), key).toString("hex"),
    "X-Ed25519-Timestamp": timestamp,
  };
}

/** Unix seconds as the relay sends them, or milliseconds (12 digits or more); undefined when not a whole number. */
export function timestampMs(timestamp: string): number | undefined {
  if (!/^[0-9]{1,16}$/.test(timestamp)) return undefined;
  const value = Number(timestamp);
  return timestamp.replace(/^0+/, "").length >= MILLISECOND_DIGITS ? value : value * 1000;
}

/** A header as http's `HeaderValue::to_str` reads it: absent unless visible ASCII. */
function readableHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  const text = Array.isArray(value) ? value[0] : value;
  return text !== undefined && /^[\t\x20-\x7e]*$/.test(text) ? text : undefined;
}
