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
  write(aps: JsonObject, text: string): void;
}

/** The JSON text of the payload, truncated to at most `maxBytes` UTF-8 bytes. */
export function encodeApnsPayload(payload: JsonObject, maxBytes = MAX_APNS_PAYLOAD_BYTES): string {
  const json = JSON.stringify(payload);
  let size = Buffer.byteLength(json);
  if (size <= maxBytes) return json;

  const fields = isJsonObject(payload.aps) ? choppables(payload.aps) : [];
  while (size > maxBytes) {
    const longest = pickLongest(fields);
    if (!longest) {
      throw new PayloadTooLarge(
        `the payload is ${size} bytes even with every text field emptied; APNs allows ${maxBytes}`,
      );
    }
    size -= removeLastCodePoint(longest);
  }

  const truncated = structuredClone(payload);
  for (const field of fields) field.write(truncated.aps as JsonObject, field.text.slice(0, field.end));
  return JSON.stringify(truncated);
}

function choppables(aps: JsonObject): Choppable[] {
  const field = (text: string, write: Choppable["write"]): Choppable => ({
    text,
    end: text.length,
    bytes: Buffer.byteLength(text),
    write,
  });
  if (typeof aps.alert === "string") return [field(aps.alert, (a, text) => (a.alert = text))];
  if (!isJsonObject(aps.alert)) return [];
  const alert = aps.alert;
  const fields: Choppable[] = [];
  if (typeof alert.body === "string")
    fields.push(field(alert.body, (a, text) => ((a.alert as JsonObject).body = text)));
  const locArgs = alert["loc-args"];
  if (Array.isArray(locArgs)) {
    locArgs.forEach((arg: unknown, i) => {
      if (typeof arg === "string") {
        fields.push(field(arg, (a, text) => (((a.alert as JsonObject)["loc-args"] as unknown[])[i] = text)));
      }
    });
  }
  return fields;
}

function pickLongest(fields: Choppable[]): Choppable | undefined {
  let longest: Choppable | undefined;
  for (const field of fields) if (field.bytes > 0 && (!longest || field.bytes > longest.bytes)) longest = field;
  return longest;
}

/** Shortens the field by one code point; returns how many bytes the JSON shrank by. */
function removeLastCodePoint(field: Choppable): number {
  const last = field.text.charCodeAt(field.end - 1);
  const before = field.end >= 2 ? field.text.charCodeAt(field.end - 2) : 0;
  const isPair = last >= 0xdc00 && last <= 0xdfff && before >= 0xd800 && before <= 0xdbff;
  const codePoint = isPair ? (before - 0xd800) * 0x400 + (last - 0xdc00) + 0x10000 : last;
  field.end -= isPair ? 2 : 1;
  field.bytes -= utf8Length(codePoint);
  return jsonLength(codePoint);
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
