/**
 * The documented answer to one registration body and to one relay body (docs/walletconnect.md, in the order checked),
 * read as Herald reads JSON (the last of repeated keys wins; bytes that are not UTF-8 are U+FFFD).
 */
import { PUSH_TYPES, stripDidKey, type Expected } from "./model.js";

const FIELDS = ["client_id", "type", "token"] as const;
const CONTROL_OR_LONE_SURROGATE =
  /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const storable = (value: unknown) => typeof value === "string" && !CONTROL_OR_LONE_SURROGATE.test(value);
const decoder = new TextDecoder("utf-8");

export function readJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(body)) as unknown;
  } catch {
    return undefined;
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** `POST /clients` without Authorization; `registered` the client id kept when it is 200. */
export function registrationAnswer(
  body: Uint8Array,
): Expected & { registered?: { id: string; type: string; token: string; alwaysRaw: boolean } } {
  const value = readJson(body);
  if (!isObject(value)) return { status: 400, body: { error: "decode" } };
  const has = (key: string) => Object.prototype.hasOwnProperty.call(value, key);
  for (const field of FIELDS) if (!has(field)) return { status: 400, body: { error: "field", field } };
  for (const field of FIELDS) {
    if (typeof value[field] !== "string") return { status: 400, body: { error: "field", field } };
    if (field !== "type" && !storable(value[field])) return { status: 400, body: { error: "field", field } };
  }
  if (has("always_raw") && value.always_raw !== null && typeof value.always_raw !== "boolean") {
    return { status: 400, body: { error: "field", field: "always_raw" } };
  }
  const type = (value.type as string).toLowerCase();
  // At most 255 characters once the did:key: prefixes are gone (WalletConnect's varchar(255)).
  if ([...stripDidKey(value.client_id as string)].length > 255) {
    return { status: 400, body: { error: "field", field: "client_id" } };
  }
  if ([...(value.token as string)].length > 4096) return { status: 400, body: { error: "field", field: "token" } };
  if (!(PUSH_TYPES as readonly string[]).includes(type)) {
    return { status: 400, body: { error: "provider_not_available", field: "provider" } };
  }
  if (value.token === "") return { status: 400, body: { error: "field", field: "token" } };
  const id = stripDidKey(value.client_id as string);
  if (id === "") return { status: 400, body: { error: "field", field: "client_id" } };
  return {
    status: 200,
    body: "SUCCESS",
    registered: { id, type, token: value.token as string, alwaysRaw: value.always_raw === true },
  };
}

const u32 = (value: unknown) =>
  typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 4294967295;

/**
 * The shapes a signed relay body holds: the raw message text, the legacy id, and the client it names in a string
 * `client_id` (without did:key:); undefined when it is no JSON object.
 */
export function relayShapes(body: Uint8Array): { raw?: string; legacy?: string; named?: string } | undefined {
  const value = readJson(body);
  if (!isObject(value)) return undefined;
  const shapes: { raw?: string; legacy?: string; named?: string } = {};
  if (typeof value.client_id === "string") shapes.named = stripDidKey(value.client_id);
  if (storable(value.topic) && u32(value.tag) && typeof value.message === "string") shapes.raw = value.message;
  const payload = value.payload;
  if (
    storable(value.id) &&
    isObject(payload) &&
    storable(payload.topic) &&
    u32(payload.flags) &&
    typeof payload.blob === "string"
  ) {
    shapes.legacy = value.id as string;
  }
  return shapes;
}
