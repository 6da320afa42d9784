/**
 * The bodies of the WalletConnect API, validated with `schemas/walletconnect-*.schema.json`: a registration, and a
 * relay message in either of its two shapes (raw, legacy) as WalletConnect's push server reads them.
 */
import { createHash } from "node:crypto";
import type { ErrorObject } from "ajv";
import { createAjv, loadSchema } from "../schemas.js";
import { invalidField, missingField, undecodableBody, type WalletConnectAnswer } from "./answers.js";

/** WalletConnect's client ids are did:keys; the push server keeps them without this prefix. */
export const DID_KEY_PREFIX = "did:key:";
/** The longest client id kept, without its prefix (WalletConnect's `clients.id` is a varchar(255)). */
export const MAX_CLIENT_ID_CHARACTERS = 255;
/** The longest device token kept. */
export const MAX_TOKEN_CHARACTERS = 4096;

export interface Registration {
  /** Without its `did:key:` prefix. */
  clientId: string;
  /** As sent; compared lower-cased. */
  type: string;
  token: string;
  alwaysRaw: boolean;
}

export type RelayMessage =
  | { shape: "raw"; topic: string; tag: number; message: string }
  | { shape: "legacy"; id: string; topic: string; flags: number; blob: string };

/** The two shapes a relay body may hold, each when all its fields are there. */
export interface RelayBody {
  raw: Extract<RelayMessage, { shape: "raw" }> | undefined;
  legacy: Extract<RelayMessage, { shape: "legacy" }> | undefined;
  /**
   * The client the signed body names in `client_id` (without `did:key:`), when it names one: Herald's walletconnect
   * pushkin does; WalletConnect's relay does not.
   */
  namedClient: string | undefined;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; answer: WalletConnectAnswer };

/**
 * Text the registry can keep in SQLite and PostgreSQL alike: no control characters (PostgreSQL's text cannot hold NUL)
 * and no unpaired surrogate (which is not UTF-8).
 */
export function isStorableText(text: string): boolean {
  return !CONTROL_OR_LONE_SURROGATE.test(text);
}

const CONTROL_OR_LONE_SURROGATE =
  /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const ajv = createAjv({ allErrors: false });
ajv.addFormat("storable-text", { type: "string", validate: isStorableText });
const validateRegistration = ajv.compile<{
  client_id: string;
  type: string;
  token: string;
  always_raw?: boolean | null;
}>(loadSchema("walletconnect-register.schema.json"));
ajv.addSchema(loadSchema("walletconnect-push.schema.json"));
const validateRelayBody = ajv.compile<Record<string, unknown>>({ $ref: "herald:walletconnect-push" });
const isRaw = ajv.compile<{ topic: string; tag: number; message: string }>({
  $ref: "herald:walletconnect-push#/definitions/raw",
});
const isLegacy = ajv.compile<{ id: string; payload: { topic: string; flags: number; blob: string } }>({
  $ref: "herald:walletconnect-push#/definitions/legacy",
});

export function parseRegistration(body: Buffer): Parsed<Registration> {
  const json = parseJson(body);
  if (json === undefined) return { ok: false, answer: undecodableBody() };
  if (!validateRegistration(json)) return { ok: false, answer: fieldProblem(validateRegistration.errors ?? []) };
  const clientId = stripDidKey(json.client_id);
  // WalletConnect keeps ids in a varchar(255); a longer one could not even come back in a request path (Node refuses
  // request heads over 16 KiB), so the client could be neither pushed to nor unregistered.
  if ([...clientId].length > MAX_CLIENT_ID_CHARACTERS) {
    return {
      ok: false,
      answer: invalidField("client_id", `must be at most ${MAX_CLIENT_ID_CHARACTERS} characters`),
    };
  }
  // No provider's device token is this long (APNs' are 64 hex digits, FCM's a few hundred characters); a longer one
  // could only be refused by the provider at every message, answered 502, which the relay retries for ever.
  if ([...json.token].length > MAX_TOKEN_CHARACTERS) {
    return { ok: false, answer: invalidField("token", `must be at most ${MAX_TOKEN_CHARACTERS} characters`) };
  }
  return {
    ok: true,
    value: {
      clientId,
      type: json.type,
      token: json.token,
      alwaysRaw: json.always_raw === true,
    },
  };
}

export function parseRelayBody(body: Buffer): Parsed<RelayBody> {
  const json = parseJson(body);
  if (json === undefined || !validateRelayBody(json)) return { ok: false, answer: undecodableBody() };
  const raw = isRaw(json)
    ? { shape: "raw" as const, topic: json.topic, tag: json.tag, message: json.message }
    : undefined;
  const legacy = isLegacy(json) ? { shape: "legacy" as const, id: json.id, ...json.payload } : undefined;
  const namedClient = typeof json.client_id === "string" ? stripDidKey(json.client_id) : undefined;
  return { ok: true, value: { raw, legacy, namedClient } };
}

/** The ids a relay body's message goes by: one for each shape it holds. */
export function messageIdsOf(body: RelayBody): string[] {
  return [body.raw, body.legacy].filter((message) => message !== undefined).map(messageIdOf);
}

/**
 * The message id the registry remembers: for a raw message the SHA-256 of the message in hex, as the relay computes it
 * (relay_rpc `get_message_id`); for a legacy one its `id`.
 */
export function messageIdOf(message: RelayMessage): string {
  if (message.shape === "legacy") return message.id;
  return createHash("sha256").update(message.message, "utf8").digest("hex");
}

/** Every leading `did:key:`, as Rust's `trim_start_matches` removes them. */
export function stripDidKey(id: string): string {
  let stripped = id;
  while (stripped.startsWith(DID_KEY_PREFIX)) stripped = stripped.slice(DID_KEY_PREFIX.length);
  return stripped;
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8")) as unknown;
  } catch {
    return undefined;
  }
}

function fieldProblem(errors: ErrorObject[]): WalletConnectAnswer {
  const error = errors[0];
  if (error === undefined) return undecodableBody();
  if (error.keyword === "required")
    return missingField(String((error.params as { missingProperty: string }).missingProperty));
  const field = error.instancePath.split("/").slice(1).join(".") || "body";
  if (error.instancePath === "") return undecodableBody();
  if (error.keyword === "format") return invalidField(field, "must not contain control characters");
  const expected = error.keyword === "type" ? String((error.params as { type: string }).type) : "valid";
  return invalidField(field, expected === "valid" ? "is invalid" : `must be ${expected.replace(",", " or ")}`);
}
