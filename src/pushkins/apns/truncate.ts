/**
 * APNs refuses payloads over 4096 bytes. Sygnal's rule for making a payload fit, kept here: while the JSON is too
 * long, take the longest text field (by UTF-8 bytes; the first one on a tie; never an empty one) and remove its last
 * code point. The text fields are `aps.alert` when it is a string, else `aps.alert.body` and each of
 * `aps.alert.loc-args`. No ellipsis is added.
 *
 * Two things differ from Sygnal, on purpose: the size is that of the compact JSON Herald actually sends, and the
 * work is linear. Removing a code point shrinks the JSON by that code point's escaped length, which depends on the
 * code point alone, so the loop keeps running totals instead of re-encoding the payload for every character
 * (Sygnal's way takes minutes on a 512 KiB message).
 */
import { isJsonObject, type JsonObject } from "../../core/notification.js";

export const MAX_APNS_PAYLOAD_BYTES = 4096;

export class PayloadTooLarge extends Error {
  override readonly name = "PayloadTooLarge";
}

/** A text field that may be shortened, with where to put the result. */
interface Choppable {
  text: string;
  /** UTF-16 index where the kept text ends. */
  end: number;
  /** UTF-8 bytes of the kept text. */
  bytes: number;
  write(text: string): void;
}

/** The JSON text of the payload, truncated to at most `maxBytes` UTF-8 bytes. */
export function encodeApnsPayload(payload: JsonObject, maxBytes = MAX_APNS_PAYLOAD_BYTES): string {
  const json = JSON.stringify(payload);
  // UTF-8 never has fewer bytes than UTF-16 has units: a long string is too large without being measured.
  if (json.length <= maxBytes && Buffer.byteLength(json) <= maxBytes) return json;

  const truncated = copyTextPath(payload);
  const fields = isJsonObject(truncated.aps) ? choppables(truncated.aps, maxBytes) : [];

  // A field longer than the whole payload may be can never keep more than maxBytes, and the rule cuts every such
  // field down to that before it touches any other: do it in one step, without measuring the long text.
  for (const field of fields) if (field.bytes > maxBytes) keepBytes(field, maxBytes);
  for (const field of fields) field.write(field.text.slice(0, field.end));
  let size = Buffer.byteLength(JSON.stringify(truncated));

  while (size > maxBytes) {
    const longest = pickLongest(fields);
    if (!longest) {
      throw new PayloadTooLarge(
        `the payload is ${size} bytes even with every text field emptied; APNs allows ${maxBytes}`,
      );
    }
    size = chop(longest, fields, size, maxBytes);
  }
  for (const field of fields) field.write(field.text.slice(0, field.end));
  return JSON.stringify(truncated);
}

/** Keeps the longest run of whole code points from the start of the field that fits in `maxBytes` UTF-8 bytes. */
function keepBytes(field: Choppable, maxBytes: number): void {
  const { text } = field;
  let end = 0;
  let bytes = 0;
  while (end < text.length) {
    const codePoint = text.codePointAt(end)!;
    const length = utf8Length(codePoint);
    if (bytes + length > maxBytes) break;
    bytes += length;
    end += codePoint > 0xffff ? 2 : 1;
  }
  field.end = end;
  field.bytes = bytes;
}

/** A copy of the payload in which the objects holding the text fields are new, so that they can be rewritten. */
function copyTextPath(payload: JsonObject): JsonObject {
  if (!isJsonObject(payload.aps)) return payload;
  const aps = { ...payload.aps };
  if (isJsonObject(aps.alert)) {
    const alert = { ...aps.alert };
    if (Array.isArray(alert["loc-args"])) alert["loc-args"] = [...(alert["loc-args"] as unknown[])];
    aps.alert = alert;
  }
  return { ...payload, aps };
}

function choppables(aps: JsonObject, maxBytes: number): Choppable[] {
  const field = (text: string, write: Choppable["write"]): Choppable => ({
    text,
    end: text.length,
    // A text with more UTF-16 units than the limit has more bytes too: it is cut without being measured.
    bytes: text.length > maxBytes ? Infinity : Buffer.byteLength(text),
    write,
  });
  if (typeof aps.alert === "string") return [field(aps.alert, (text) => (aps.alert = text))];
  if (!isJsonObject(aps.alert)) return [];
  const alert = aps.alert;
  const fields: Choppable[] = [];
  if (typeof alert.body === "string") fields.push(field(alert.body, (text) => (alert.body = text)));
  const locArgs = alert["loc-args"];
  if (Array.isArray(locArgs)) {
    locArgs.forEach((arg: unknown, i) => {
      if (typeof arg === "string") fields.push(field(arg, (text) => (locArgs[i] = text)));
    });
  }
  return fields;
}

function pickLongest(fields: Choppable[]): Choppable | undefined {
  let longest: Choppable | undefined;
  for (const field of fields) if (field.bytes > 0 && (!longest || field.bytes > longest.bytes)) longest = field;
  return longest;
}

/**
 * Removes code points from the end of `field`, the longest, for as long as it stays the one the rule picks (longer
 * than every other field, or as long as one that comes after it) and the JSON is still too large. Returns the new
 * size. Running in one tight loop, rather than picking again after every code point, is what makes large texts fast.
 */
function chop(field: Choppable, fields: Choppable[], size: number, maxBytes: number): number {
  const index = fields.indexOf(field);
  let rival = 0; // the byte length at which another field would be picked instead
  fields.forEach((other, i) => {
    if (other !== field) rival = Math.max(rival, i < index ? other.bytes : other.bytes - 1);
  });
  const { text } = field;
  let { end, bytes } = field;
  do {
    const last = text.charCodeAt(end - 1);
    const before = end >= 2 ? text.charCodeAt(end - 2) : 0;
    const isPair = last >= 0xdc00 && last <= 0xdfff && before >= 0xd800 && before <= 0xdbff;
    const codePoint = isPair ? (before - 0xd800) * 0x400 + (last - 0xdc00) + 0x10000 : last;
    end -= isPair ? 2 : 1;
    bytes -= utf8Length(codePoint);
    size -= jsonLength(codePoint);
  } while (size > maxBytes && bytes > rival && end > 0);
  field.end = end;
  field.bytes = bytes;
  return size;
}

function utf8Length(cp: number): number {
  if (cp < 0x80) return 1;
  if (cp < 0x800) return 2;
  if (cp < 0x10000) return 3; // a lone surrogate is encoded as U+FFFD, also 3 bytes
  return 4;
}

/** Bytes of the code point inside a JSON string, as JSON.stringify writes it. */
function jsonLength(cp: number): number {
  if (cp === 0x22 || cp === 0x5c || cp === 0x08 || cp === 0x09 || cp === 0x0a || cp === 0x0c || cp === 0x0d) return 2;
  if (cp < 0x20) return 6; // \u00XX
  if (cp >= 0xd800 && cp <= 0xdfff) return 6; // a lone surrogate, written \uXXXX
  return utf8Length(cp);
}
