/**
 * The plaintext of a WebPush message, as Sygnal builds it (pure): the event's fields and the counts, over the device's
 * `default_payload`, with the content's body cut to 1000 characters. The browser's service worker receives it
 * decrypted. Herald sends it as compact JSON (Sygnal's spaced JSON parses to the same object).
 */
import { blake2s } from "@noble/hashes/blake2s";
import { isJsonObject, type Device, type JsonObject, type Notification } from "../../core/notification.js";

/** Copied when truthy, in Sygnal's order. */
const FIELDS = [
  "room_id",
  "room_name",
  "room_alias",
  "membership",
  "event_id",
  "sender",
  "sender_display_name",
  "user_is_target",
  "type",
] as const;
const MAX_BODY_CODE_POINTS = 1000;
const MAX_CIPHERTEXT_LENGTH = 2000;

export function buildWebPushPayload(n: Notification, device: Device): JsonObject {
  const base = device.data?.default_payload;
  const payload: JsonObject = isJsonObject(base) ? { ...base } : {};
  for (const field of FIELDS) {
    const value = n[field];
    if (value) payload[field] = value;
  }
  if (n.counts.unread !== undefined) payload.unread = n.counts.unread;
  if (n.counts.missed_calls !== undefined) payload.missed_calls = n.counts.missed_calls;
  if (n.content) payload.content = trimContent(n.content);
  return payload;
}

/** Push services limit a message to about 4 KB: the HTML body goes, a long body is cut, a long ciphertext dropped. */
function trimContent(content: JsonObject): JsonObject {
  const trimmed = { ...content };
  delete trimmed.formatted_body;
  if (typeof trimmed.body === "string" && trimmed.body.length > MAX_BODY_CODE_POINTS) {
    const codePoints = Array.from(trimmed.body);
    if (codePoints.length > MAX_BODY_CODE_POINTS)
      trimmed.body = `${codePoints.slice(0, MAX_BODY_CODE_POINTS - 1).join("")}…`;
  }
  if (typeof trimmed.ciphertext === "string" && trimmed.ciphertext.length > MAX_CIPHERTEXT_LENGTH)
    delete trimmed.ciphertext;
  return trimmed;
}

/**
 * The `Topic` header of `only_last_per_room`: a push service keeps only the latest message of a topic for an offline
 * browser. Sygnal's value, kept so that topics stay the same across the switch: base64url (with padding) of the
 * 22-byte BLAKE2s digest of the room id, 32 characters, the most a Topic may have.
 */
export function roomTopic(roomId: string): string {
  return Buffer.from(blake2s(Buffer.from(roomId, "utf8"), { dkLen: 22 }))
    .toString("base64url")
    .padEnd(32, "=");
}

/** `Urgency`: `low` lets the push service and the browser save battery. */
export function urgencyOf(n: Notification): "low" | "normal" {
  return n.prio === "low" ? "low" : "normal";
}
