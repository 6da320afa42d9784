/**
 * A push-relay request (`POST /push`): its content type, its form, and its parameters, checked exactly as Threema's
 * push-relay checks them (server.rs `handle_push_request`), with its plain-text answers and in its order.
 *
 * The form is decoded as push-relay's `form_urlencoded::parse` decodes it (the WHATWG form parser): pairs split on
 * `&`, name and value split at the first `=`, `+` is a space, percent escapes are bytes, and the bytes are read as
 * UTF-8 with U+FFFD for what is not, so a body that is not UTF-8 is not refused. For a key given twice the first value
 * wins. The values are then validated with `schemas/push-relay.schema.json`.
 */
import type { ErrorObject } from "ajv";
import { isCarriableHeaderValue } from "../core/http2Headers.js";
import { createAjv, loadSchema } from "../schemas.js";

/** The schema's x-message for any check it names none for (it names one for each). */
const INVALID_PARAMETERS = "Invalid parameters";
const FORM_TYPE = "application/x-www-form-urlencoded";
/** push-relay prefixes every collapse key so that its pushes never collapse with an app's own. */
const COLLAPSE_KEY_PREFIX = "relay.";
/** APNs refuses a collapse id over 64 bytes; push-relay refuses the request before sending. */
const MAX_COLLAPSE_ID_BYTES = 64;
const DEFAULT_TTL = 90;

interface PushCommon {
  /** The SHA-256 of the initiator's permanent key, as Threema Web sends it. */
  session: string;
  /** Threema Web's protocol version (u16). */
  version: number;
  affiliation: string | undefined;
  /** Seconds (u32). */
  ttl: number;
  /** `relay.<collapse_key>`, when a collapse key was given. */
  collapseId: string | undefined;
}

export type PushRequest = PushCommon &
  (
    | { type: "fcm"; token: string }
    | { type: "apns"; token: string; bundleId: string; endpoint: "production" | "sandbox" }
    | { type: "hms"; token: string; appId: string }
    | { type: "threema-gateway"; identity: string; publicKey: Uint8Array }
  );

export type PushType = PushRequest["type"];

export type ParsedPush = { ok: true; request: PushRequest } | { ok: false; message: string };

/** push-relay's answer to the Content-Type header, or undefined when it is a form. */
export function contentTypeProblem(contentType: string | undefined): string | undefined {
  // A header that is not visible ASCII counts as absent there (http's HeaderValue::to_str fails).
  if (contentType === undefined || !/^[\t\x20-\x7e]*$/.test(contentType)) return "Missing content type";
  if (!contentType.startsWith(FORM_TYPE)) return `Invalid content type: ${contentType}`;
  return undefined;
}

/** The form's pairs in order, decoded as the WHATWG application/x-www-form-urlencoded parser does. */
export function decodeForm(body: Uint8Array): [string, string][] {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const pairs: [string, string][] = [];
  let start = 0;
  while (start <= bytes.length) {
    let end = bytes.indexOf(0x26, start);
    if (end === -1) end = bytes.length;
    if (end > start) {
      const sequence = bytes.subarray(start, end);
      const equals = sequence.indexOf(0x3d);
      const name = equals === -1 ? sequence : sequence.subarray(0, equals);
      const value = equals === -1 ? sequence.subarray(sequence.length) : sequence.subarray(equals + 1);
      pairs.push([formText(name), formText(value)]);
    }
    start = end + 1;
  }
  return pairs;
}

const utf8Lossy = new TextDecoder("utf-8", { ignoreBOM: true });

function formText(bytes: Buffer): string {
  const out = Buffer.allocUnsafe(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === 0x2b) {
      out[n++] = 0x20;
    } else if (byte === 0x25 && i + 2 < bytes.length && isHex(bytes[i + 1]!) && isHex(bytes[i + 2]!)) {
      out[n++] = (hexValue(bytes[i + 1]!) << 4) | hexValue(bytes[i + 2]!);
      i += 2;
    } else {
      out[n++] = byte;
    }
  }
  return utf8Lossy.decode(out.subarray(0, n));
}

function isHex(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66);
}

function hexValue(byte: number): number {
  return byte <= 0x39 ? byte - 0x30 : (byte | 0x20) - 0x61 + 10;
}

/** Rust's `str::trim().parse::<uN>()`: Unicode white space around, an optional `+`, ASCII digits, within `max`. */
export function parseRustUnsigned(text: string, max: number): number | undefined {
  const trimmed = text.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, "");
  const digits = /^\+?0*([0-9]+)$/.exec(trimmed)?.[1];
  if (digits === undefined || digits.length > String(max).length) return undefined;
  const value = Number(digits);
  return value <= max ? value : undefined;
}

const ajv = createAjv({ allErrors: false });
ajv.addFormat("u16", { type: "string", validate: (s: string) => parseRustUnsigned(s, 0xffff) !== undefined });
ajv.addFormat("u32", { type: "string", validate: (s: string) => parseRustUnsigned(s, 0xffffffff) !== undefined });
// Rust's `len()` counts bytes.
ajv.addFormat("threema-identity", {
  type: "string",
  validate: (s: string) => Buffer.byteLength(s) === 8 && !s.startsWith("*"),
});
// Both go in APNs headers (apns-collapse-id, apns-topic): a value no header can carry is refused here, not at sending.
ajv.addFormat("apns-collapse-key", {
  type: "string",
  validate: (s: string) =>
    Buffer.byteLength(COLLAPSE_KEY_PREFIX + s) <= MAX_COLLAPSE_ID_BYTES &&
    isCarriableHeaderValue(COLLAPSE_KEY_PREFIX + s),
});
ajv.addFormat("header-value", { type: "string", validate: isCarriableHeaderValue });
const validateForm = ajv.compile<Record<string, string>>(loadSchema("push-relay.schema.json"));

/** The body of a request whose content type was accepted. */
export function parsePushForm(body: Uint8Array): ParsedPush {
  const firstValues = new Map<string, string>();
  for (const [name, value] of decodeForm(body)) if (!firstValues.has(name)) firstValues.set(name, value);
  // fromEntries makes own properties, also of a key such as "__proto__".
  const form = Object.fromEntries(firstValues) as Record<string, string>;
  if (!validateForm(form)) return { ok: false, message: messageOf(validateForm.errors ?? []) };
  return { ok: true, request: toRequest(form) };
}

function messageOf(errors: ErrorObject[]): string {
  // An `if` error only repeats the error of its `then`, which comes first.
  const error = errors.find((e) => e.keyword !== "if");
  const message = error?.parentSchema?.["x-message"];
  return typeof message === "string" ? message : INVALID_PARAMETERS;
}

function toRequest(form: Record<string, string>): PushRequest {
  const common: PushCommon = {
    session: form.session!,
    version: parseRustUnsigned(form.version!, 0xffff)!,
    affiliation: form.affiliation,
    ttl: form.ttl === undefined ? DEFAULT_TTL : parseRustUnsigned(form.ttl, 0xffffffff)!,
    collapseId: form.collapse_key === undefined ? undefined : COLLAPSE_KEY_PREFIX + form.collapse_key,
  };
  switch (form.type) {
    case "apns":
      return {
        ...common,
        type: "apns",
        token: form.token!,
        bundleId: form.bundleid!,
        endpoint: form.endpoint === "p" ? "production" : "sandbox",
      };
    case "hms":
      return { ...common, type: "hms", token: form.token!, appId: form.appid! };
    case "threema-gateway":
      return {
        ...common,
        type: "threema-gateway",
        identity: form.identity!,
        publicKey: new Uint8Array(Buffer.from(form.public_key!, "hex")),
      };
    default:
      return { ...common, type: "fcm", token: form.token! };
  }
}
