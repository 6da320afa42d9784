/**
 * The APNs alert at its edges: each field the alert is built from, empty (""), null or absent, where that field
 * decides the alert. Each row is one case of Sygnal's rule (reference sygnal.md §c.1), read with Python's truthiness
 * where the rule says "truthy", "falsy" or `a or b`, and as "not null" or "has the key" where it says so:
 *
 * - the sender shown is `sender_display_name` whenever it is not null, even "", else `sender`; a single space only
 *   when both are empty or missing;
 * - the room shown is `room_name or room_alias`: the first that is not empty;
 * - a message has content when `content` has both the `msgtype` and the `body` keys, whatever their values;
 * - an invite needs `user_is_target` truthy and `membership == "invite"`;
 * - an `event_id` without a (truthy) `type` gets the event-id-only payload.
 *
 * Every notification goes through /notify's parsing first, as the pushkin gets it: there, null and absent are one.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseNotificationBody } from "../../src/api/notificationBody.js";
import type { Device, JsonObject, Notification } from "../../src/core/notification.js";
import { buildApnsPayload } from "../../src/pushkins/apns/payload.js";
import { encodeApnsPayload } from "../../src/pushkins/apns/truncate.js";
import { fixturesDir } from "../helpers/paths.js";

const fixtures = JSON.parse(readFileSync(join(fixturesDir, "expected-provider-payloads.json"), "utf8")) as {
  cases: Record<string, { notification: JsonObject }>;
};
/** Sygnal's test message: an m.text in a named room, from a user with a display name, 2 unread and 1 missed call. */
const MESSAGE = fixtures.cases.full!.notification;

const TOM = "Major Tom";
const MXID = "@exampleuser:matrix.org";
const ROOM = "Mission Control";
const ALIAS = "#exampleroom:matrix.org";
const BODY = "I'm floating in a most peculiar way.";
const ROOM_ID = "!slw48wfj34rtnrf:example.com";
const EVENT_ID = "$qTOWWTEL48yPm3uT-gdNhFcoHxfKbZuqRVnnWWSkGBs";

/** Marks a field removed from the notification. */
const ABSENT = Symbol("absent");
type Given = Record<string, unknown>;

const INVITE: Given = {
  type: "m.room.member",
  membership: "invite",
  user_is_target: true,
  content: { membership: "invite" },
};
const CALL: Given = { type: "m.call.invite", content: { call_id: "c1", offer: { type: "offer", sdp: "m=audio 9" } } };

const IN_ROOM_WITH_CONTENT = "MSG_FROM_USER_IN_ROOM_WITH_CONTENT";
const WITH_CONTENT = "MSG_FROM_USER_WITH_CONTENT";
const IN_ROOM = "MSG_FROM_USER_IN_ROOM";

/** The loc-key and its loc-args, or null: no alert (the badge alone is sent). */
type Alert = [locKey: string, ...locArgs: unknown[]] | null;

/** field, edge, what differs from MESSAGE, the alert Sygnal builds. */
// prettier-ignore
const ALERT_EDGES: [field: string, edge: string, given: Given, alert: Alert][] = [
  // Who the message is from.
  ["sender_display_name", '""', { sender_display_name: "" }, [IN_ROOM_WITH_CONTENT, "", ROOM, BODY]],
  ["sender_display_name", "null", { sender_display_name: null }, [IN_ROOM_WITH_CONTENT, MXID, ROOM, BODY]],
  ["sender_display_name", "absent", { sender_display_name: ABSENT }, [IN_ROOM_WITH_CONTENT, MXID, ROOM, BODY]],
  ["sender_display_name", '"", sender ""', { sender_display_name: "", sender: "" }, [IN_ROOM_WITH_CONTENT, " ", ROOM, BODY]],
  ["sender_display_name", '"", sender null', { sender_display_name: "", sender: null }, [IN_ROOM_WITH_CONTENT, " ", ROOM, BODY]],
  ["sender_display_name", '"", sender absent', { sender_display_name: "", sender: ABSENT }, [IN_ROOM_WITH_CONTENT, " ", ROOM, BODY]],
  ["sender_display_name", '"" in an invite', { ...INVITE, sender_display_name: "" }, ["USER_INVITE_TO_NAMED_ROOM", "", ROOM]],
  ["sender_display_name", '"" in a call', { ...CALL, sender_display_name: "" }, ["VOICE_CALL_FROM_USER", ""]],
  ["sender_display_name", '"" in another event type', { type: "m.sticker", sender_display_name: "" }, ["MSG_FROM_USER", ""]],
  ["sender", '"", no display name', { sender_display_name: ABSENT, sender: "" }, [IN_ROOM_WITH_CONTENT, " ", ROOM, BODY]],
  ["sender", "null, no display name", { sender_display_name: ABSENT, sender: null }, [IN_ROOM_WITH_CONTENT, " ", ROOM, BODY]],
  ["sender", "absent, no display name", { sender_display_name: ABSENT, sender: ABSENT }, [IN_ROOM_WITH_CONTENT, " ", ROOM, BODY]],
  ["sender", '"", display name "Major Tom"', { sender: "" }, [IN_ROOM_WITH_CONTENT, TOM, ROOM, BODY]],
  ["sender", 'null, display name "Major Tom"', { sender: null }, [IN_ROOM_WITH_CONTENT, TOM, ROOM, BODY]],
  ["sender", 'absent, display name "Major Tom"', { sender: ABSENT }, [IN_ROOM_WITH_CONTENT, TOM, ROOM, BODY]],
  // Which room it is in.
  ["room_name", '"", alias present', { room_name: "" }, [IN_ROOM_WITH_CONTENT, TOM, ALIAS, BODY]],
  ["room_name", "null, alias present", { room_name: null }, [IN_ROOM_WITH_CONTENT, TOM, ALIAS, BODY]],
  ["room_name", "absent, alias present", { room_name: ABSENT }, [IN_ROOM_WITH_CONTENT, TOM, ALIAS, BODY]],
  ["room_name", '"", alias ""', { room_name: "", room_alias: "" }, [WITH_CONTENT, TOM, BODY]],
  ["room_name", '"", alias absent', { room_name: "", room_alias: ABSENT }, [WITH_CONTENT, TOM, BODY]],
  ["room_name", '"" in an invite, alias present', { ...INVITE, room_name: "" }, ["USER_INVITE_TO_NAMED_ROOM", TOM, ALIAS]],
  ["room_name", '"" in an invite, alias absent', { ...INVITE, room_name: "", room_alias: ABSENT }, ["USER_INVITE_TO_CHAT", TOM]],
  ["room_alias", '"", no room name', { room_name: ABSENT, room_alias: "" }, [WITH_CONTENT, TOM, BODY]],
  ["room_alias", "null, no room name", { room_name: ABSENT, room_alias: null }, [WITH_CONTENT, TOM, BODY]],
  ["room_alias", "absent, no room name", { room_name: ABSENT, room_alias: ABSENT }, [WITH_CONTENT, TOM, BODY]],
  ["room_alias", '"", room name present', { room_alias: "" }, [IN_ROOM_WITH_CONTENT, TOM, ROOM, BODY]],
  // What it says.
  ["content.body", '"" (m.text)', { content: { msgtype: "m.text", body: "" } }, [IN_ROOM_WITH_CONTENT, TOM, ROOM, ""]],
  ["content.body", "null (m.text)", { content: { msgtype: "m.text", body: null } }, [IN_ROOM_WITH_CONTENT, TOM, ROOM, null]],
  ["content.body", "absent (m.text)", { content: { msgtype: "m.text" } }, [IN_ROOM, TOM, ROOM]],
  ["content.body", '"" (m.text, no room)', { room_name: ABSENT, room_alias: ABSENT, content: { msgtype: "m.text", body: "" } }, [WITH_CONTENT, TOM, ""]],
  ["content.body", '"" (m.emote)', { content: { msgtype: "m.emote", body: "" } }, ["ACTION_FROM_USER_IN_ROOM", ROOM, TOM, ""]],
  ["content.body", "absent (m.emote)", { content: { msgtype: "m.emote" } }, [IN_ROOM, TOM, ROOM]],
  ["content.body", '"" (m.image)', { content: { msgtype: "m.image", body: "" } }, ["IMAGE_FROM_USER_IN_ROOM", TOM, "", ROOM]],
  ["content.body", "absent (m.image)", { content: { msgtype: "m.image", url: "mxc://x/y" } }, [IN_ROOM, TOM, ROOM]],
  ["content.body", '"" (m.room.encrypted)', { type: "m.room.encrypted", content: { msgtype: "m.text", body: "" } }, [IN_ROOM_WITH_CONTENT, TOM, ROOM, ""]],
  ["content.msgtype", '""', { content: { msgtype: "", body: BODY } }, [IN_ROOM_WITH_CONTENT, TOM, ROOM, BODY]],
  ["content.msgtype", "null", { content: { msgtype: null, body: BODY } }, [IN_ROOM_WITH_CONTENT, TOM, ROOM, BODY]],
  ["content.msgtype", "absent", { content: { body: BODY } }, [IN_ROOM, TOM, ROOM]],
  ["content", '""', { content: "" }, [IN_ROOM, TOM, ROOM]],
  ["content", "null", { content: null }, [IN_ROOM, TOM, ROOM]],
  ["content", "absent", { content: ABSENT }, [IN_ROOM, TOM, ROOM]],
  ["content", "{}", { content: {} }, [IN_ROOM, TOM, ROOM]],
  // Whether an invite is for this user.
  ["membership", '"" (m.room.member)', { ...INVITE, membership: "" }, null],
  ["membership", "null (m.room.member)", { ...INVITE, membership: null }, null],
  ["membership", "absent (m.room.member)", { ...INVITE, membership: ABSENT }, null],
  ["user_is_target", "false (invite)", { ...INVITE, user_is_target: false }, null],
  ["user_is_target", '"" (invite)', { ...INVITE, user_is_target: "" }, null],
  ["user_is_target", "null (invite)", { ...INVITE, user_is_target: null }, null],
  ["user_is_target", "absent (invite)", { ...INVITE, user_is_target: ABSENT }, null],
];

/** field, edge, what differs from MESSAGE, the whole payload Sygnal sends: which kind of payload the edge picks. */
// prettier-ignore
const PAYLOAD_EDGES: [field: string, edge: string, given: Given, payload: JsonObject][] = [
  ["type", '"", event_id present', { type: "" }, { room_id: ROOM_ID, event_id: EVENT_ID, unread_count: 2, missed_calls: 1 }],
  ["type", "null, event_id present", { type: null }, { room_id: ROOM_ID, event_id: EVENT_ID, unread_count: 2, missed_calls: 1 }],
  ["type", "absent, event_id present", { type: ABSENT }, { room_id: ROOM_ID, event_id: EVENT_ID, unread_count: 2, missed_calls: 1 }],
  ["room_id", '"", event-id-only', { type: ABSENT, room_id: "" }, { event_id: EVENT_ID, unread_count: 2, missed_calls: 1 }],
  ["room_id", "null, event-id-only", { type: ABSENT, room_id: null }, { event_id: EVENT_ID, unread_count: 2, missed_calls: 1 }],
  ["room_id", "absent, event-id-only", { type: ABSENT, room_id: ABSENT }, { event_id: EVENT_ID, unread_count: 2, missed_calls: 1 }],
  ["event_id", '"", type absent', { type: ABSENT, event_id: "" }, { aps: { badge: 3 } }],
  ["event_id", "null, type absent", { type: ABSENT, event_id: null }, { aps: { badge: 3 } }],
  ["event_id", "absent, type absent", { type: ABSENT, event_id: ABSENT }, { aps: { badge: 3 } }],
];

function notificationOf(given: Given): Notification {
  const raw: Given = { ...MESSAGE };
  for (const [key, value] of Object.entries(given)) {
    if (value === ABSENT) delete raw[key];
    else raw[key] = value;
  }
  const device = { app_id: "com.example.apns", pushkey: "spqr" };
  const parsed = parseNotificationBody(Buffer.from(JSON.stringify({ notification: { ...raw, devices: [device] } })));
  assert.ok(parsed.ok, "/notify accepts it");
  return parsed.notification;
}

function payloadOf(given: Given): JsonObject | null {
  const n = notificationOf(given);
  return buildApnsPayload(n, n.devices[0] as Device, { sendBadgeCounts: true });
}

/** The payload of a message with this alert: the alert and the badge, and the event's ids when there is an alert. */
function payloadWith(alert: Alert): JsonObject {
  if (!alert) return { aps: { badge: 3 } };
  const [locKey, ...locArgs] = alert;
  return { aps: { alert: { "loc-key": locKey, "loc-args": locArgs }, badge: 3 }, room_id: ROOM_ID, event_id: EVENT_ID };
}

describe("APNs alerts at the edges, as Sygnal builds them", () => {
  test("the table holds 49 alert edges and 9 payload edges over Sygnal's test message", () => {
    assert.equal(ALERT_EDGES.length, 49);
    assert.equal(PAYLOAD_EDGES.length, 9);
    assert.deepEqual(
      [MESSAGE.sender_display_name, MESSAGE.sender, MESSAGE.room_name, MESSAGE.room_alias, MESSAGE.type],
      [TOM, MXID, ROOM, ALIAS, "m.room.message"],
    );
    assert.deepEqual(MESSAGE.content, { msgtype: "m.text", body: BODY, other: 1 });
    assert.deepEqual(
      [MESSAGE.room_id, MESSAGE.event_id, MESSAGE.counts],
      [ROOM_ID, EVENT_ID, { unread: 2, missed_calls: 1 }],
    );
  });

  for (const [field, edge, given, alert] of ALERT_EDGES) {
    test(`${field} ${edge} → ${alert ? alert[0] : "no alert"}`, () => {
      assert.deepEqual(payloadOf(given), payloadWith(alert));
    });
  }

  for (const [field, edge, given, payload] of PAYLOAD_EDGES) {
    test(`${field} ${edge} → ${JSON.stringify(payload)}`, () => {
      assert.deepEqual(payloadOf(given), payload);
    });
  }

  test("an empty display name stays empty when a long body is cut to fit 4096 bytes", () => {
    const payload = payloadOf({ sender_display_name: "", content: { msgtype: "m.text", body: "A".repeat(5000) } });
    assert.ok(payload);
    const json = encodeApnsPayload(payload);
    const [from, room, body] = (JSON.parse(json) as { aps: { alert: { "loc-args": string[] } } }).aps.alert["loc-args"];
    assert.equal(from, "");
    assert.equal(room, ROOM);
    assert.match(body ?? "", /^A+$/);
    assert.equal(Buffer.byteLength(json), 4096, "only the body was cut, to the last byte that fits");
  });
});
