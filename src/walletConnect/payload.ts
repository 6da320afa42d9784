/**
 * What a relay message becomes at APNs and FCM (pure), as WalletConnect's push server builds it
 * (providers/apns.rs, providers/fcm_v1.rs, blob.rs):
 *
 * - raw `{topic, tag, message}`: an alert "You have new notifications. Open to view" that the app's notification
 *   service extension replaces after decrypting `message` (APNs: `mutable-content`), with the three fields beside it;
 * - legacy with flag bit 0 (encrypted): the same alert, with `topic` and `blob`;
 * - legacy without it (cleartext): `blob` is base64 of a JSON `{title, body}`, shown as is, with `topic`.
 *
 * FCM v1 carries the fields as `data` (strings, as FCM wants), HIGH priority on Android and `content-available` for
 * iOS, and a `notification` with the title and body for cleartext.
 *
 * The APNs headers are Herald's: `apns-push-type: alert` and `apns-priority: 10` (the original sets neither): every
 * payload here carries an alert, Apple requires the push type on watchOS and recommends it everywhere, and priority 10
 * is what Apple assumes when the header is absent.
 */
import type { ApnsPush } from "../pushkins/apns/client.js";
import type { RelayMessage } from "./request.js";

export const ENCRYPTED_FLAG = 1;
export const ENCRYPTED_TITLE = "You have new notifications. Open to view";
/** Apple refuses larger payloads (PayloadTooLarge); the original learns it from Apple, Herald before sending. */
export const APNS_MAX_PAYLOAD_BYTES = 4096;

export interface Cleartext {
  title: string;
  body: string;
}

/** What a legacy cleartext blob holds, or why it cannot be read. */
export type BlobContent = { ok: true; cleartext: Cleartext } | { ok: false; problem: "base64" | "json" };

/** The message's cleartext to show, undefined when the app decrypts it, or why the blob cannot be read. */
export function cleartextOf(message: RelayMessage): BlobContent | undefined {
  if (message.shape === "raw" || (message.flags & ENCRYPTED_FLAG) === ENCRYPTED_FLAG) return undefined;
  return decodeBlob(message.blob);
}

/**
 * A cleartext blob: standard base64 with its padding and nothing else (Rust's `STANDARD` engine), of a JSON object
 * with string `title` and `body`, and optional string `image` and `url`.
 */
export function decodeBlob(blob: string): BlobContent {
  const canonical = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(blob);
  const bytes = Buffer.from(blob, "base64");
  if (!canonical || bytes.toString("base64") !== blob) return { ok: false, problem: "base64" };
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return { ok: false, problem: "json" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { ok: false, problem: "json" };
  const { title, body, image, url } = value as Record<string, unknown>;
  const optional = (field: unknown) => field === undefined || field === null || typeof field === "string";
  if (typeof title !== "string" || typeof body !== "string" || !optional(image) || !optional(url)) {
    return { ok: false, problem: "json" };
  }
  return { ok: true, cleartext: { title, body } };
}

/** The APNs payload: an alert the app may replace (`mutable-content`), the app woken too (`content-available`). */
export function apnsPayload(message: RelayMessage, cleartext: Cleartext | undefined): Record<string, unknown> {
  const aps = {
    alert: cleartext ? { title: cleartext.title, body: cleartext.body } : { title: ENCRYPTED_TITLE },
    "content-available": 1,
    "mutable-content": 1,
  };
  if (message.shape === "raw") return { aps, topic: message.topic, tag: message.tag, message: message.message };
  return cleartext ? { aps, topic: message.topic } : { aps, topic: message.topic, blob: message.blob };
}

/** The push to the device token, or undefined when the payload is over Apple's limit. */
export function apnsPush(
  message: RelayMessage,
  cleartext: Cleartext | undefined,
  token: string,
  topic: string,
): ApnsPush | undefined {
  const body = JSON.stringify(apnsPayload(message, cleartext));
  if (Buffer.byteLength(body) > APNS_MAX_PAYLOAD_BYTES) return undefined;
  return {
    token,
    headers: { "apns-topic": topic, "apns-push-type": "alert", "apns-priority": "10" },
    body,
  };
}

/** The FCM HTTP v1 message (`{"message": …}`) for the registration token. */
export function fcmMessage(
  message: RelayMessage,
  cleartext: Cleartext | undefined,
  token: string,
): Record<string, unknown> {
  const data =
    message.shape === "raw"
      ? { topic: message.topic, tag: String(message.tag), message: message.message }
      : { topic: message.topic, flags: String(message.flags), blob: message.blob };
  return {
    message: {
      token,
      data,
      ...(cleartext ? { notification: { title: cleartext.title, body: cleartext.body } } : {}),
      android: { priority: "HIGH" },
      apns: { payload: { aps: { "content-available": 1 } } },
    },
  };
}
