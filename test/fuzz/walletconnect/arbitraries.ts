/**
 * Requests for WalletConnect's `/clients` API: runs of registrations, relay messages and unregistrations over a few
 * client ids and tokens (so that tokens move between ids and messages repeat), registration bodies made nearly valid
 * by the JSON mutations, and relay bodies of either shape, both, or neither.
 */
import fc from "fast-check";
import { anyJson, anyStyle, json, type JsonNode, type JsonStyle } from "../json.js";
import { mutations, type Mutation, type PathStep } from "../jsonMutations.js";
import { jwtKinds, type JwtKind } from "./jwts.js";

/** The types a wallet sends, in any case. */
const typeNames = fc.constantFrom("apns", "apns-sandbox", "fcm", "noop", "APNS", "Fcm", "Apns-Sandbox");

export type Op =
  | {
      kind: "register";
      client: number;
      type: string;
      token: number;
      alwaysRaw: boolean | null | undefined;
      did: boolean;
      auth: Authorization;
    }
  | { kind: "push"; client: number; raw: boolean; legacy: boolean; message: number; did: boolean }
  | { kind: "unregister"; client: number; did: boolean; auth: Authorization };

/** No `Authorization`, or a JWT of some kind for the request's client. */
export type Authorization = "none" | JwtKind;

/** Mostly none, as most wallets send; else the client's own JWT as often as all the failing kinds together. */
const authorizations: fc.Arbitrary<Authorization> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Authorization>("none") },
  { weight: 2, arbitrary: fc.constant<Authorization>("own") },
  { weight: 2, arbitrary: jwtKinds },
);

const CLIENTS = 3;
const TOKENS = 3;

export const ops: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant("register" as const),
        client: fc.nat({ max: CLIENTS - 1 }),
        type: typeNames,
        token: fc.nat({ max: TOKENS - 1 }),
        alwaysRaw: fc.constantFrom(true, false, null, undefined),
        did: fc.boolean(),
        auth: authorizations,
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant("push" as const),
        client: fc.nat({ max: CLIENTS - 1 }),
        raw: fc.boolean(),
        legacy: fc.boolean(),
        message: fc.nat({ max: 2 }),
        did: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("unregister" as const),
        client: fc.nat({ max: CLIENTS - 1 }),
        did: fc.boolean(),
        auth: authorizations,
      }),
    },
  ),
  { minLength: 1, maxLength: 8 },
);

/** A registration as a wallet sends it; `token` and `clientId` are filled in by the check (unique per run). */
export const registration: fc.Arbitrary<{ type: string; alwaysRaw: boolean | null | undefined; did: boolean }> =
  fc.record({ type: typeNames, alwaysRaw: fc.constantFrom(true, false, null, undefined), did: fc.boolean() });

/** Where the registration mutations aim: the body and each field. */
const REGISTRATION_PATHS: PathStep[][] = [[], ["client_id"], ["type"], ["token"], ["always_raw"]];

export const registrationMutations: fc.Arbitrary<Mutation[]> = fc.array(
  mutations(fc.constantFrom(...REGISTRATION_PATHS), { maxNesting: 1_000 }),
  { minLength: 1, maxLength: 3 },
);

export function registrationTree(
  clientId: string,
  type: string,
  token: string,
  alwaysRaw: boolean | null | undefined,
): JsonNode {
  const entries: [string, JsonNode][] = [
    ["client_id", json.string(clientId)],
    ["type", json.string(type)],
    ["token", json.string(token)],
  ];
  if (alwaysRaw !== undefined) entries.push(["always_raw", alwaysRaw === null ? json.null() : json.bool(alwaysRaw)]);
  return json.object(entries);
}

/** A relay message's fields, of either shape; the message text is filled in by the check. */
export function relayBody(text: string, raw: boolean, legacy: boolean): Record<string, unknown> {
  return {
    ...(raw ? { topic: "fuzz-topic", tag: 1108, message: text } : {}),
    ...(legacy ? { id: text, payload: { topic: "fuzz-topic", flags: 1, blob: "ZW5jcnlwdGVk" } } : {}),
  };
}

/** Where relay-body mutations aim. */
const RELAY_PATHS: PathStep[][] = [
  [],
  ["topic"],
  ["tag"],
  ["message"],
  ["id"],
  ["payload"],
  ["payload", "topic"],
  ["payload", "flags"],
  ["payload", "blob"],
];

export const relayMutations: fc.Arbitrary<Mutation[]> = fc.array(
  mutations(fc.constantFrom(...RELAY_PATHS), { maxNesting: 1_000 }),
  { maxLength: 3 },
);

/** How the relay's signature headers are sent: as signed, or broken one way or another. */
export type Signing = "signed" | "no-signature" | "no-timestamp" | "neither" | "other-body" | "not-hex" | "stale";

export const signings: fc.Arbitrary<Signing> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Signing>("signed") },
  {
    weight: 3,
    arbitrary: fc.constantFrom<Signing>("no-signature", "no-timestamp", "neither", "other-body", "not-hex", "stale"),
  },
);

export const anyValue: fc.Arbitrary<JsonNode> = anyJson({ maxDepth: 3, keys: ["client_id", "type", "token"] });
export const styles: fc.Arbitrary<JsonStyle> = anyStyle;
