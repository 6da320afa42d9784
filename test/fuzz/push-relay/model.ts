/**
 * A reference model of what push-relay's `POST /push` answers, written from its rules (reference/peers.md §2.2: the
 * checks, their order and their texts; the answer of each provider outcome) plus Herald's documented differences
 * (docs/push-relay.md: 413 over 64 KiB; a bundleid or collapse id no HTTP header can carry is `Invalid parameters`).
 *
 * The form is read as the WHATWG application/x-www-form-urlencoded parser reads bytes (pairs split on `&`, name and
 * value at the first `=`, `+` a space, `%XX` a byte, then UTF-8 with U+FFFD), and the first of repeated keys wins.
 * A form that passes every check is sent: the model says which provider gets it and which answers its outcomes allow.
 */

export const PUSH_PATH = "/push";
export const MAX_BODY_BYTES = 64 * 1024;
export const FORM_TYPE = "application/x-www-form-urlencoded";
export const NOT_SUCCESSFUL = "Push not successful";
export const MESSAGES = {
  missingContentType: "Missing content type",
  missing: "Missing parameters",
  invalid: "Invalid parameters",
} as const;
const DEFAULT_TTL = 90;
const MAX_COLLAPSE_ID_BYTES = 64;
export const TYPES = ["fcm", "gcm", "apns", "hms", "threema-gateway"] as const;

/** What the relay sends, once every check passed. */
export type ModelPush = {
  session: string;
  version: number;
  affiliation: string | undefined;
  ttl: number;
  collapseId: string | undefined;
} & (
  | { type: "fcm"; token: string }
  | { type: "apns"; token: string; bundleId: string; endpoint: "p" | "s" }
  | { type: "hms"; token: string; appId: string }
  | { type: "threema-gateway"; identity: string; publicKey: string }
);

export type Expected =
  | { status: 413 }
  | { status: 400; message: string }
  /** Sent to the provider: answered as its outcome says, `Push not successful` unless 204. */
  | { status: "sent"; push: ModelPush };

/** The answer the rules give to a request with this Content-Type and body. */
export function expectedAnswer(contentType: string | undefined, body: Uint8Array): Expected {
  if (body.length > MAX_BODY_BYTES) return { status: 413 };
  // A header that is not visible ASCII is no header for push-relay's HeaderValue::to_str.
  if (contentType === undefined || !/^[\t\x20-\x7e]*$/.test(contentType)) return bad(MESSAGES.missingContentType);
  if (!contentType.startsWith(FORM_TYPE)) return bad(`Invalid content type: ${contentType}`);
  return checkForm(firstValues(decodeForm(body)));
}

function bad(message: string): Expected {
  return { status: 400, message };
}

/** push-relay's checks, in its order (server.rs handle_push_request). */
export function checkForm(form: Map<string, string>): Expected {
  if (form.size === 0) return bad(MESSAGES.missing);
  const type = form.get("type") ?? "fcm";
  if (!(TYPES as readonly string[]).includes(type)) return bad(MESSAGES.invalid);
  if (type !== "threema-gateway" && !form.has("token")) return bad(MESSAGES.missing);
  if (type === "hms" && !form.has("appid")) return bad(MESSAGES.missing);
  if (type === "threema-gateway") {
    const identity = form.get("identity");
    if (identity === undefined) return bad(MESSAGES.missing);
    if (Buffer.byteLength(identity) !== 8 || identity.startsWith("*")) return bad(MESSAGES.invalid);
    const key = form.get("public_key");
    if (key === undefined) return bad(MESSAGES.missing);
    if (!/^[0-9A-Fa-f]{64}$/.test(key)) return bad(MESSAGES.invalid);
  }
  const session = form.get("session");
  if (session === undefined) return bad(MESSAGES.missing);
  const versionText = form.get("version");
  if (versionText === undefined) return bad(MESSAGES.missing);
  const version = rustUnsigned(versionText, 16);
  if (version === undefined) return bad(MESSAGES.invalid);
  const ttlText = form.get("ttl");
  const ttl = ttlText === undefined ? DEFAULT_TTL : rustUnsigned(ttlText, 32);
  if (ttl === undefined) return bad(MESSAGES.invalid);
  const collapseKey = form.get("collapse_key");
  const collapseId = collapseKey === undefined ? undefined : `relay.${collapseKey}`;
  const common = { session, version, affiliation: form.get("affiliation"), ttl, collapseId };

  switch (type) {
    case "apns": {
      const bundleId = form.get("bundleid");
      if (bundleId === undefined) return bad(MESSAGES.missing);
      const endpoint = form.get("endpoint");
      if (endpoint === undefined) return bad(MESSAGES.missing);
      if (endpoint !== "p" && endpoint !== "s") return bad(MESSAGES.invalid);
      if (collapseId !== undefined) {
        if (Buffer.byteLength(collapseId) > MAX_COLLAPSE_ID_BYTES || !headerCarries(collapseId)) {
          return bad(MESSAGES.invalid);
        }
      }
      if (!headerCarries(bundleId)) return bad(MESSAGES.invalid);
      return { status: "sent", push: { ...common, type, token: form.get("token")!, bundleId, endpoint } };
    }
    case "hms":
      return { status: "sent", push: { ...common, type, token: form.get("token")!, appId: form.get("appid")! } };
    case "threema-gateway":
      return {
        status: "sent",
        push: { ...common, type, identity: form.get("identity")!, publicKey: form.get("public_key")! },
      };
    default:
      return { status: "sent", push: { ...common, type: "fcm", token: form.get("token")! } };
  }
}

/** An HTTP field value: no control character but tab, no white space at either end (RFC 9110, RFC 9113 §8.2.1). */
function headerCarries(value: string): boolean {
  return !/[\x00-\x08\x0a-\x1f\x7f]/.test(value) && !/^[ \t]|[ \t]$/.test(value);
}

/** Rust's `text.trim().parse::<uN>()`: Unicode white space trimmed, an optional `+`, ASCII digits, in range. */
export function rustUnsigned(text: string, bits: 16 | 32): number | undefined {
  const trimmed = text.replace(/^\p{White_Space}+/u, "").replace(/\p{White_Space}+$/u, "");
  if (!/^\+?[0-9]+$/.test(trimmed)) return undefined;
  const value = BigInt(trimmed.replace(/^\+/, ""));
  return value < 2n ** BigInt(bits) ? Number(value) : undefined;
}

/** The WHATWG form parser, on bytes. */
export function decodeForm(body: Uint8Array): [string, string][] {
  const pairs: [string, string][] = [];
  let start = 0;
  for (let i = 0; i <= body.length; i++) {
    if (i < body.length && body[i] !== 0x26) continue;
    const sequence = body.subarray(start, i);
    start = i + 1;
    if (sequence.length === 0) continue;
    const equals = sequence.indexOf(0x3d);
    const name = equals < 0 ? sequence : sequence.subarray(0, equals);
    const value = equals < 0 ? new Uint8Array() : sequence.subarray(equals + 1);
    pairs.push([formText(name), formText(value)]);
  }
  return pairs;
}

const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

function formText(bytes: Uint8Array): string {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    const hex = String.fromCharCode(bytes[i + 1] ?? 0, bytes[i + 2] ?? 0);
    if (byte === 0x2b) out.push(0x20);
    else if (byte === 0x25 && i + 2 < bytes.length && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      out.push(parseInt(hex, 16));
      i += 2;
    } else out.push(byte);
  }
  return utf8.decode(Uint8Array.from(out));
}

/** One value per name: the first. */
export function firstValues(pairs: [string, string][]): Map<string, string> {
  const form = new Map<string, string>();
  for (const [name, value] of pairs) if (!form.has(name)) form.set(name, value);
  return form;
}

/** What the target's providers know, for the outcome of a push (the surface's start sets these up). */
export interface Recipients {
  /** `push_relay.hms` appids, and whether each is high_priority. */
  hmsApps: ReadonlyMap<string, boolean>;
  /** The Threema users the gateway knows: identity → public key (hex, lowercase). */
  threemaUsers: ReadonlyMap<string, string>;
}

/** The statuses a sent push may be answered with (push-relay's table); certain: only the first. */
export function outcomes(push: ModelPush, recipients: Recipients): { statuses: number[]; certain: boolean } {
  const certain = (status: number) => ({ statuses: [status], certain: true });
  switch (push.type) {
    case "apns":
      // Apple's BadDeviceToken (400) for anything but hex; an empty token is not sent (Herald: 400, push-relay 502).
      if (!/^[0-9A-Fa-f]+$/.test(push.token)) return certain(400);
      // Over Apple's payload limit: PayloadTooLarge (502).
      return { statuses: [204, 502], certain: false };
    case "fcm":
      // A token FCM cannot parse is 400; data over 4096 bytes is 400 (INVALID_ARGUMENT) too.
      return { statuses: [204, 400], certain: false };
    case "hms":
      if (!recipients.hmsApps.has(push.appId)) return certain(400);
      // Push Kit's HTTP 400 (a message too large) is 400; its other parameter codes are push-relay's own failure (500).
      return { statuses: [204, 400, 500], certain: false };
    case "threema-gateway": {
      if (/^0{64}$/.test(push.publicKey)) return certain(400);
      const known = recipients.threemaUsers.get(push.identity);
      if (known === push.publicKey.toLowerCase()) return { statuses: [204, 502], certain: false };
      // Another's key: the gateway says the recipient cannot decrypt it, or knows no such recipient (502); a
      // degenerate key that is not all zeros is refused before sending (400).
      return { statuses: [502, 400], certain: false };
    }
  }
}
