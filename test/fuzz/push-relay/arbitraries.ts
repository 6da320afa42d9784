/**
 * Forms for push-relay's `POST /push`: well-formed ones of every type, as Threema Web sends them; the mutations that
 * make them nearly valid (a field dropped, repeated, renamed or given an odd value, the type changed); and the many
 * ways the same pairs can be written as bytes (percent-encoding of any case, `+` for spaces, raw UTF-8, broken escapes,
 * bytes that are not UTF-8, stray separators).
 */
import { createHash } from "node:crypto";
import fc from "fast-check";
import nacl from "tweetnacl";
import { concat } from "../json.js";
import { FORM_TYPE, TYPES } from "./model.js";

/** The Threema users the fuzz target's gateway knows, with key pairs fixed beforehand. */
export const THREEMA_USERS = ["FUZZUSR1", "FUZZUSR2", "ECHOECHO"].map((identity) => {
  const secretKey = createHash("sha256").update(`herald fuzz ${identity}`).digest();
  const keys = nacl.box.keyPair.fromSecretKey(new Uint8Array(secretKey));
  return { identity, secretKey: keys.secretKey, publicKeyHex: Buffer.from(keys.publicKey).toString("hex") };
});
/** The `push_relay.hms` appids of the target; the second is high_priority. */
export const HMS_APPIDS = ["fuzz-hms", "fuzz-hms-voip"] as const;

export type Pair = [name: string, value: string];

/** Text of every kind, mostly short. */
const anyText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 8 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "",
      " ",
      "&",
      "=",
      "+",
      "%",
      "%25",
      "%zz",
      "a&b=c",
      "é",
      "€",
      "😀",
      "\u0000",
      "\r\n",
      "\ufeff",
    ),
  },
);

const session = fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), fc.string({ unit: "grapheme", maxLength: 40 }));
/** Numbers as push-relay reads them: trimmed of Unicode white space, an optional `+`, leading zeros. */
const u16Text = fc.oneof(
  fc.integer({ min: 0, max: 65_535 }).map(String),
  fc.constantFrom("3", "+3", "003", " 3 ", "\u00a03", "\t65535\n", "0"),
);
const u32Text = fc.oneof(
  fc.integer({ min: 0, max: 4_294_967_295 }).map(String),
  fc.constantFrom("0", "90", "+60", " 120 ", "4294967295", "\u20280\u2029"),
);
const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const fcmToken = fc.stringMatching(/^[A-Za-z0-9_:-]{8,60}$/);
const bundleId = fc.oneof(
  fc.constantFrom("ch.threema.webclient", "ch.threema.iapp", "ch.threema.wébclient€"),
  fc.stringMatching(/^[a-z][a-z0-9.-]{0,30}$/),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 10 }).filter((s) => !/[\p{Cc}]|^\s|\s$/u.test(s)),
);
/** A collapse key whose `relay.<key>` fits APNs' 64 bytes and an HTTP header. */
const collapseKey = fc
  .string({ unit: "grapheme", maxLength: 20 })
  .filter((s) => Buffer.byteLength(s) <= 58 && !/[\p{Cc}]|\s$/u.test(s));

function optional(name: string, value: fc.Arbitrary<string>): fc.Arbitrary<Pair[]> {
  return fc.option(
    value.map((v): Pair[] => [[name, v]]),
    { nil: [] as Pair[] },
  ) as fc.Arbitrary<Pair[]>;
}

const commonPairs: fc.Arbitrary<Pair[]> = fc
  .tuple(
    session,
    u16Text,
    optional("ttl", u32Text),
    optional("affiliation", fc.string({ unit: "grapheme", maxLength: 20 })),
    optional("collapse_key", collapseKey),
  )
  .map(([s, v, ...rest]) => [["session", s] as Pair, ["version", v] as Pair, ...rest.flat()]);

/** The pairs of each type that a well-behaved Threema Web sends (fcm also without `type`, gcm its old name). */
const typePairs: fc.Arbitrary<Pair[]> = fc.oneof(
  fc
    .tuple(fc.constantFrom<Pair[]>([], [["type", "fcm"]], [["type", "gcm"]]), fcmToken)
    .map(([type, token]): Pair[] => [...type, ["token", token]]),
  fc.tuple(hex64, bundleId, fc.boolean(), fc.constantFrom("p", "s")).map(([token, bundle, voip, endpoint]): Pair[] => [
    ["type", "apns"],
    ["token", token],
    ["bundleid", voip ? `${bundle}.voip` : bundle],
    ["endpoint", endpoint],
  ]),
  fc.tuple(fc.stringMatching(/^[A-Za-z0-9_-]{1,60}$/), fc.constantFrom(...HMS_APPIDS)).map(([token, appid]): Pair[] => [
    ["type", "hms"],
    ["token", token],
    ["appid", appid],
  ]),
  fc.tuple(fc.constantFrom(...THREEMA_USERS), fc.boolean()).map(([user, upper]): Pair[] => [
    ["type", "threema-gateway"],
    ["identity", user.identity],
    ["public_key", upper ? user.publicKeyHex.toUpperCase() : user.publicKeyHex],
  ]),
);

/** A form Threema Web could send, its pairs in any order. */
export const validPairs: fc.Arbitrary<Pair[]> = fc
  .tuple(typePairs, commonPairs)
  .chain(([own, common]) => fc.shuffledSubarray([...own, ...common], { minLength: own.length + common.length }));

const FIELDS = [
  "type",
  "token",
  "session",
  "version",
  "ttl",
  "affiliation",
  "collapse_key",
  "bundleid",
  "endpoint",
  "appid",
  "identity",
  "public_key",
];

/** Values that sit on an edge of some rule. */
const oddValue: fc.Arbitrary<string> = fc.oneof(
  anyText,
  fc.constantFrom(...TYPES, "FCM", "apns ", "threema_gateway", "p", "s", "P", "ps"),
  fc.constantFrom("-1", "65535", "65536", "4294967295", "4294967296", "1.5", "1e3", "0x10", "+", "++1", "١", " ", ""),
  fc.constantFrom("*3MAPUSH", "ECHOECH", "ECHOECHÖ", "ECHOECHOE", "ÄÄÄÄ"),
  fc.constantFrom("0".repeat(64), "0".repeat(63), "g".repeat(64), `01${"0".repeat(62)}`),
  fc.constantFrom("a\nb", "a\r\nX: y", "trailing ", "\tleading", "\u0000", "a\u007f"),
  fc.nat({ max: 60 }).map((n) => "k".repeat(n)),
  fc.constantFrom(5_000, 66_000).map((n) => "x".repeat(n)),
  hex64,
  fc.constantFrom(...THREEMA_USERS.map((u) => u.identity), ...HMS_APPIDS, "unknown-app"),
);

export type Mutation =
  | { kind: "drop"; at: number }
  | { kind: "repeat"; at: number; value: string; before: boolean }
  | { kind: "set"; at: number; value: string }
  | { kind: "rename"; at: number; name: string }
  | { kind: "add"; name: string; value: string };

export const mutations: fc.Arbitrary<Mutation[]> = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant("drop" as const), at: fc.nat() }),
    fc.record({ kind: fc.constant("repeat" as const), at: fc.nat(), value: oddValue, before: fc.boolean() }),
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: oddValue }) },
    fc.record({
      kind: fc.constant("rename" as const),
      at: fc.nat(),
      name: fc.oneof(fc.constantFrom(...FIELDS), fc.constantFrom("Token", "token ", "", "type\u0000", "tÿpe")),
    }),
    fc.record({ kind: fc.constant("add" as const), name: fc.constantFrom(...FIELDS, "x", ""), value: oddValue }),
  ),
  { minLength: 1, maxLength: 3 },
);

export function applyMutations(pairs: Pair[], list: Mutation[]): Pair[] {
  const out = pairs.map((p): Pair => [...p]);
  for (const m of list) {
    if (m.kind === "add") {
      out.push([m.name, m.value]);
      continue;
    }
    if (out.length === 0) continue;
    const at = m.at % out.length;
    if (m.kind === "drop") out.splice(at, 1);
    else if (m.kind === "set") out[at]![1] = m.value;
    else if (m.kind === "rename") out[at]![0] = m.name;
    else out.splice(m.before ? at : at + 1, 0, [out[at]![0], m.value]);
  }
  return out;
}

/** How a name or value is written. */
export type Encoding = "standard" | "minimal" | "every-byte" | "raw";

export interface FormStyle {
  encoding: Encoding;
  upperHex: boolean;
  /** `+` for spaces (else `%20`). */
  plus: boolean;
  /** Extra `&` before, between or after the pairs. */
  separators: "single" | "doubled" | "leading" | "trailing";
}

export const formStyles: fc.Arbitrary<FormStyle> = fc.record({
  encoding: fc.constantFrom<Encoding>("standard", "standard", "minimal", "every-byte", "raw"),
  upperHex: fc.boolean(),
  plus: fc.boolean(),
  separators: fc.constantFrom("single", "single", "doubled", "leading", "trailing"),
});

const encoder = new TextEncoder();

function percent(byte: number, upper: boolean): string {
  const hex = byte.toString(16).padStart(2, "0");
  return `%${upper ? hex.toUpperCase() : hex}`;
}

/** A name or value as bytes. `raw` writes UTF-8 as is: an `&`, `=` or `%` in it changes what the form says. */
export function encodeText(text: string, style: FormStyle): Uint8Array {
  const bytes = encoder.encode(text);
  if (style.encoding === "raw") return bytes;
  let out = "";
  for (const byte of bytes) {
    const char = String.fromCharCode(byte);
    if (byte === 0x20 && style.plus) out += "+";
    else if (style.encoding === "every-byte") out += percent(byte, style.upperHex);
    else if (style.encoding === "standard" && /[A-Za-z0-9*\-._]/.test(char)) out += char;
    else if (style.encoding === "minimal" && byte > 0x20 && byte < 0x7f && !/[&=+%]/.test(char)) out += char;
    else out += percent(byte, style.upperHex);
  }
  return encoder.encode(out);
}

export function encodeForm(pairs: Pair[], style: FormStyle): Uint8Array {
  const amp = encoder.encode("&");
  const parts: Uint8Array[] = [];
  if (style.separators === "leading") parts.push(amp);
  pairs.forEach(([name, value], i) => {
    if (i > 0) parts.push(style.separators === "doubled" ? encoder.encode("&&") : amp);
    parts.push(encodeText(name, style), encoder.encode("="), encodeText(value, style));
  });
  if (style.separators === "trailing") parts.push(amp);
  return concat(parts);
}

/** Bytes spliced into a form: broken escapes, bytes that are not UTF-8, separators, NUL. */
const INSERTS = ["%", "%4", "%g1", "%%", "%C3", "%C3%28", "%ED%A0%80", "=", "&", "+", "\u0000"].map((s) =>
  encoder.encode(s),
);
const BAD_UTF8 = [[0xff], [0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf0, 0x9f], [0x80]].map((b) =>
  Uint8Array.from(b),
);

export const splices: fc.Arbitrary<{ at: number; bytes: Uint8Array }[]> = fc.array(
  fc.record({ at: fc.nat(), bytes: fc.constantFrom(...INSERTS, ...BAD_UTF8) }),
  { maxLength: 3 },
);

export function applySplices(body: Uint8Array, list: { at: number; bytes: Uint8Array }[]): Uint8Array {
  let out = body;
  for (const { at, bytes } of list) {
    const i = at % (out.length + 1);
    out = concat([out.subarray(0, i), bytes, out.subarray(i)]);
  }
  return out;
}

/** Content types: the form's, with parameters or odd case, and others. */
export const contentTypes: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(FORM_TYPE) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      `${FORM_TYPE}; charset=UTF-8`,
      `${FORM_TYPE};charset=latin1`,
      `${FORM_TYPE}x`,
      `${FORM_TYPE}  `,
      `  ${FORM_TYPE}`,
      FORM_TYPE.toUpperCase(),
      "Application/x-www-form-urlencoded",
      "application/json",
      "text/plain",
      "multipart/form-data; boundary=x",
      "",
      "*/*",
      `${FORM_TYPE}\u00e9`,
      "applicatïon/x",
    ),
  },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.stringMatching(/^[ -~]{0,40}$/) },
);
