/**
 * Turns the raw bytes of a /notify request into a Notification, answering exactly what Sygnal answers for bad input.
 *
 * Order of checks (first failure wins, as in Sygnal): UTF-8 and JSON (NaN and Infinity are not JSON), then the schema
 * (`schemas/notification.schema.json`, whose nested `allOf` encodes Sygnal's order and whose `x-message` keywords are
 * Sygnal's texts). An empty `devices` list is valid here; the caller counts the notification and then refuses it, as
 * Sygnal does.
 */
import type { ErrorObject } from "ajv";
import type { Counts, Device, JsonObject, Notification } from "../core/notification.js";
import { isJsonObject } from "../core/notification.js";
import { createAjv, loadSchema } from "../schemas.js";
import { checkedNumbers } from "./checkedNumbers.js";

export type ParsedBody = { ok: true; notification: Notification } | { ok: false; message: string };

const NOT_JSON = "Expected JSON request body";

const validateBody = createAjv({ allErrors: false }).compile(loadSchema("notification.schema.json"));
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function parseNotificationBody(body: Uint8Array): ParsedBody {
  let text: string;
  let value: unknown;
  try {
    text = utf8.decode(body);
    value = JSON.parse(text);
  } catch {
    return { ok: false, message: NOT_JSON };
  }
  markFloatCounts(text, value);
  if (!validateBody(value)) {
    return { ok: false, message: messageOf(validateBody.errors?.[0]) };
  }
  return { ok: true, notification: toNotification((value as { notification: JsonObject }).notification) };
}

function messageOf(error: ErrorObject | undefined): string {
  const message = error?.parentSchema?.["x-message"];
  return typeof message === "string" ? message : "Invalid notification";
}

/**
 * Sygnal (Python) tells `2` from `2.0`: a count or `pushkey_ts` written as a float is invalid there, while
 * `JSON.parse` turns both into the integer 2. And Python's integers have no bound, while `JSON.parse` turns one of
 * 309 digits or more into Infinity, which is no integer. When the text may hold such a number, read those few fields'
 * lexemes: replace a float-written one by its text, which the schema then refuses with the right message, and an
 * integer beyond a double's range by the largest double of its sign. The cheap test keeps the common request on the
 * fast path; it looks at the three names, and at any key written with `\u` escapes (`"unre\u0061d"` is `unread`).
 */
const FLOAT_COUNT = /"(?:unread|missed_calls|pushkey_ts|(?:[^"\\]*\\u)+[^"\\]*)"\s*:\s*-?(?:\d+[.eE]|\d{309})/;
/**
 * The same without the escaped-key branch, which tries every string of the text and is the dear part: the full test
 * runs only on a text with a `\u` escape, the only kind in which that branch can match.
 */
const FLOAT_COUNT_PLAIN = /"(?:unread|missed_calls|pushkey_ts)"\s*:\s*-?(?:\d+[.eE]|\d{309})/;

function mayHoldFloatCounts(text: string): boolean {
  return FLOAT_COUNT_PLAIN.test(text) || (text.includes("\\u") && FLOAT_COUNT.test(text));
}

function markFloatCounts(text: string, value: unknown): void {
  if (!mayHoldFloatCounts(text)) return;
  const notification = isJsonObject(value) && isJsonObject(value.notification) ? value.notification : undefined;
  if (!notification) return;
  const lexemes = checkedNumbers(text);
  if (isJsonObject(notification.counts)) {
    markFloat(notification.counts, "unread", lexemes.counts.unread);
    markFloat(notification.counts, "missed_calls", lexemes.counts.missed_calls);
  }
  if (Array.isArray(notification.devices)) {
    notification.devices.forEach((device: unknown, i: number) => {
      if (isJsonObject(device)) markFloat(device, "pushkey_ts", lexemes.pushkeyTs[i]);
    });
  }
}

function markFloat(parsed: JsonObject, key: string, lexeme: string | undefined): void {
  if (lexeme === undefined) return;
  const value = parsed[key] as number;
  if (/[.eE]/.test(lexeme)) parsed[key] = lexeme;
  else if (!Number.isFinite(value)) parsed[key] = Math.sign(value) * Number.MAX_VALUE;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** A count as Python would read it: a bool is an int there. */
function count(value: unknown): number | undefined {
  if (typeof value === "boolean") return value ? 1 : 0;
  return typeof value === "number" ? value : undefined;
}

function toCounts(value: unknown): Counts {
  if (!isJsonObject(value)) return {};
  const counts: Counts = {};
  const unread = count(value.unread);
  const missedCalls = count(value.missed_calls);
  if (unread !== undefined) counts.unread = unread;
  if (missedCalls !== undefined) counts.missed_calls = missedCalls;
  return counts;
}

function toDevice(value: JsonObject): Device {
  const device: Device = { app_id: value.app_id as string, pushkey: value.pushkey as string };
  const ts = count(value.pushkey_ts);
  if (ts !== undefined) device.pushkey_ts = ts;
  if (isJsonObject(value.data)) device.data = value.data;
  if (isJsonObject(value.tweaks)) device.tweaks = value.tweaks;
  return device;
}

function toNotification(n: JsonObject): Notification {
  return {
    event_id: optionalString(n.event_id),
    room_id: optionalString(n.room_id),
    type: optionalString(n.type),
    sender: optionalString(n.sender),
    sender_display_name: optionalString(n.sender_display_name),
    room_name: optionalString(n.room_name),
    room_alias: optionalString(n.room_alias),
    membership: optionalString(n.membership),
    user_is_target: typeof n.user_is_target === "boolean" ? n.user_is_target : undefined,
    prio: n.prio === "low" ? "low" : "high",
    content: isJsonObject(n.content) ? n.content : undefined,
    counts: toCounts(n.counts),
    devices: (n.devices as JsonObject[]).map(toDevice),
  };
}
