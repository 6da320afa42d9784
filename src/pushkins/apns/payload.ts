/**
 * The APNs JSON payload of a notification, as Sygnal builds it (pure; see docs/pushkins/apns.md).
 *
 * An `event_id` without a `type` gets the event-id-only payload (the app fetches the event itself); everything else
 * gets an alert with a localisation key and arguments that the app's Localizable.strings turns into text, plus the
 * badge. No `sound`, `mutable-content` or `content-available` is added by Herald: those come from the device's
 * `default_payload`.
 */
import { isJsonObject, type Device, type JsonObject, type Notification } from "../../core/notification.js";

export interface ApnsPayloadOptions {
  sendBadgeCounts: boolean;
}

/** Sygnal cuts display names and room names to this many code points. */
const MAX_FIELD_CODE_POINTS = 1024;

/** The payload to send, or null when there is nothing to say (no alert and no badge). */
export function buildApnsPayload(n: Notification, device: Device, options: ApnsPayloadOptions): JsonObject | null {
  return n.event_id && !n.type ? eventIdOnlyPayload(n, device, options) : fullPayload(n, device, options);
}

/** `10` (immediately) unless the homeserver said the push may wait. */
export function apnsPriority(n: Notification): "10" | "5" {
  return n.prio === "low" ? "5" : "10";
}

function defaultPayload(device: Device): JsonObject | undefined {
  const value = device.data?.default_payload;
  return isJsonObject(value) ? value : undefined;
}

function eventIdOnlyPayload(n: Notification, device: Device, { sendBadgeCounts }: ApnsPayloadOptions): JsonObject {
  const payload: JsonObject = { ...defaultPayload(device) };
  if (n.room_id) payload.room_id = n.room_id;
  payload.event_id = n.event_id;
  if (sendBadgeCounts) {
    if (n.counts.unread !== undefined) payload.unread_count = n.counts.unread;
    if (n.counts.missed_calls !== undefined) payload.missed_calls = n.counts.missed_calls;
  }
  return payload;
}

function fullPayload(n: Notification, device: Device, { sendBadgeCounts }: ApnsPayloadOptions): JsonObject | null {
  const alert = alertOf(n);
  const badge = sendBadgeCounts ? badgeOf(n) : undefined;
  if (!alert && badge === undefined) return null;

  // A badge-only update (no type) ignores default_payload, as in Sygnal.
  const base = n.type && device.data ? defaultPayload(device) : undefined;
  const payload: JsonObject = base ? structuredClone(base) : {};
  const aps: JsonObject = isJsonObject(payload.aps) ? payload.aps : {};
  payload.aps = aps;
  if (alert) {
    const existing = isJsonObject(aps.alert) ? aps.alert : {};
    aps.alert = { ...existing, "loc-key": alert.locKey, "loc-args": alert.locArgs };
  }
  if (badge !== undefined) aps.badge = badge;
  if (alert) {
    if (n.room_id) payload.room_id = n.room_id;
    if (n.event_id) payload.event_id = n.event_id;
  }
  return payload;
}

function badgeOf(n: Notification): number | undefined {
  const { unread, missed_calls } = n.counts;
  if (unread === undefined && missed_calls === undefined) return undefined;
  return (unread ?? 0) + (missed_calls ?? 0);
}

function cut(text: string): string {
  // Code points, not UTF-16 units: Python's len().
  if (text.length <= MAX_FIELD_CODE_POINTS) return text;
  const codePoints = Array.from(text);
  return codePoints.length <= MAX_FIELD_CODE_POINTS ? text : codePoints.slice(0, MAX_FIELD_CODE_POINTS).join("");
}

/**
 * Who the alert says the event is from: the display name whenever the homeserver sent one, even an empty one (then
 * the alert shows no name, as Sygnal's does), else the Matrix ID. A single space when both are empty or missing, so
 * that the app's format string still gets its argument.
 */
function senderShown(n: Notification): string {
  if (!n.sender_display_name && !n.sender) return " ";
  return n.sender_display_name ?? n.sender ?? " ";
}

interface Alert {
  locKey: string;
  locArgs: unknown[];
}

function alertOf(n: Notification): Alert | undefined {
  if (!n.type) return undefined;
  const from = cut(senderShown(n));
  const roomName = n.room_name || n.room_alias; // the first that is not empty
  const room = roomName ? cut(roomName) : undefined;
  const content = n.content;

  if (n.type === "m.room.message" || n.type === "m.room.encrypted") {
    if (content && "msgtype" in content && "body" in content) {
      const { msgtype, body } = content;
      if (msgtype === "m.image") {
        return room
          ? { locKey: "IMAGE_FROM_USER_IN_ROOM", locArgs: [from, body, room] }
          : { locKey: "IMAGE_FROM_USER", locArgs: [from, body] };
      }
      if (msgtype === "m.emote") {
        return room
          ? { locKey: "ACTION_FROM_USER_IN_ROOM", locArgs: [room, from, body] }
          : { locKey: "ACTION_FROM_USER", locArgs: [from, body] };
      }
      return room
        ? { locKey: "MSG_FROM_USER_IN_ROOM_WITH_CONTENT", locArgs: [from, room, body] }
        : { locKey: "MSG_FROM_USER_WITH_CONTENT", locArgs: [from, body] };
    }
    return room
      ? { locKey: "MSG_FROM_USER_IN_ROOM", locArgs: [from, room] }
      : { locKey: "MSG_FROM_USER", locArgs: [from] };
  }
  if (n.type === "m.call.invite") {
    const offer = content?.offer;
    const sdp = isJsonObject(offer) ? offer.sdp : undefined;
    const video = typeof sdp === "string" && sdp.includes("m=video");
    return { locKey: video ? "VIDEO_CALL_FROM_USER" : "VOICE_CALL_FROM_USER", locArgs: [from] };
  }
  if (n.type === "m.room.member") {
    if (n.user_is_target && n.membership === "invite") {
      return room
        ? { locKey: "USER_INVITE_TO_NAMED_ROOM", locArgs: [from, room] }
        : { locKey: "USER_INVITE_TO_CHAT", locArgs: [from] };
    }
    return undefined;
  }
  return { locKey: "MSG_FROM_USER", locArgs: [from] };
}
