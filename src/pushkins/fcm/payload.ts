/**
 * FCM request bodies, as Sygnal builds them (pure; see docs/pushkins/fcm.md).
 *
 * FCM messages carry the notification as `data`: the event's fields, each string cut to 1024 bytes, over the device's
 * `default_payload`. The HTTP v1 API wants every data value to be a string, so there `content` is flattened into
 * `content_<key>` strings and counts are sent as strings. One deliberate difference from Sygnal: a v1 data value that
 * is still not a string (it came from `default_payload`) is sent JSON-encoded, since FCM refuses it raw.
 */
import { isJsonObject, type Device, type JsonObject, type Notification } from "../../core/notification.js";

/** FCM allows 4096 bytes of data; Sygnal keeps each field to a quarter of that. */
export const MAX_FIELD_BYTES = 1024;

/** The fields copied into `data`, in Sygnal's order. */
const FIELDS = [
  "event_id",
  "type",
  "sender",
  "room_name",
  "room_alias",
  "membership",
  "sender_display_name",
  "content",
  "room_id",
] as const;

/** Keys of `fcm_options` that Herald sets itself. */
const RESERVED_KEYS = ["data", "priority", "to", "registration_ids", "token"];

export type FcmApi = "legacy" | "v1";

export type FcmData =
  | { kind: "data"; data: JsonObject }
  /** Nothing to tell the device: no event and no counts. */
  | { kind: "nothing" }
  /** `data.default_payload` is not an object: the device can never be served as configured. */
  | { kind: "bad-default-payload" };

/** The `data` map of the message for one device. */
export function buildFcmData(n: Notification, device: Device, api: FcmApi, sendBadgeCounts: boolean): FcmData {
  const base = device.data && "default_payload" in device.data ? device.data.default_payload : {};
  if (!isJsonObject(base)) return { kind: "bad-default-payload" };
  const data: JsonObject = { ...base };

  for (const field of FIELDS) {
    const value = n[field];
    if (value === undefined) continue;
    data[field] = typeof value === "string" ? truncateUtf8(value, MAX_FIELD_BYTES) : value;
  }
  if (api === "v1" && isJsonObject(data.content)) {
    const content = data.content;
    delete data.content;
    for (const [key, value] of Object.entries(content)) {
      if (typeof value === "string") data[`content_${key}`] = truncateUtf8(value, MAX_FIELD_BYTES);
    }
  }
  data.prio = n.prio === "low" ? "normal" : "high";

  let counted = false;
  if (sendBadgeCounts) {
    for (const key of ["unread", "missed_calls"] as const) {
      const count = n.counts[key];
      if (count) {
        data[key] = api === "v1" ? String(count) : count;
        counted = true;
      }
    }
  }
  if (!data.room_id && !data.event_id && !counted) return { kind: "nothing" };
  return { kind: "data", data };
}

/** FCM's `priority`: `normal` lets Android batch the push. */
export function fcmPriority(n: Notification): "high" | "normal" {
  return n.prio === "low" ? "normal" : "high";
}

/** The legacy `/fcm/send` body: one request for every device of the batch. */
export function legacyBody(data: JsonObject, fcmOptions: JsonObject, n: Notification, pushkeys: string[]): JsonObject {
  const body: JsonObject = { ...withoutReserved(fcmOptions), data, priority: fcmPriority(n) };
  if (pushkeys.length === 1) body.to = pushkeys[0];
  else body.registration_ids = pushkeys;
  return body;
}

/** The HTTP v1 `messages:send` body for one device. */
export function v1Body(data: JsonObject, fcmOptions: JsonObject, n: Notification, pushkey: string): JsonObject {
  const android = isJsonObject(fcmOptions.android) ? fcmOptions.android : {};
  return {
    message: {
      ...withoutReserved(fcmOptions),
      data: stringValues(data),
      android: { ...android, priority: fcmPriority(n) },
      token: pushkey,
    },
  };
}

function withoutReserved(options: JsonObject): JsonObject {
  const copy = { ...options };
  for (const key of RESERVED_KEYS) delete copy[key];
  return copy;
}

/**
 * FCM v1 refuses data values that are not strings; those from default_payload are sent as JSON text. HMS sends the
 * same map, so that an app can read both alike.
 */
export function stringValues(data: JsonObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) out[key] = typeof value === "string" ? value : JSON.stringify(value);
  return out;
}

/**
 * Sygnal's `truncate_str`: a string over `maxBytes` UTF-8 bytes keeps its first `maxBytes - 3` bytes, cut back to a
 * whole character, and ends with "…" (3 bytes), so that it is at most `maxBytes` long.
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes) return text; // cannot be over: no character takes more than 3 bytes per UTF-16 unit
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes - 3;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // back to the first byte of the character cut in two
  return `${bytes.subarray(0, end).toString("utf8")}…`;
}
