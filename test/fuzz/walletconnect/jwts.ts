/**
 * `Authorization` headers for `/clients`, as an attacker would try them on a wallet's client: the wallet's own JWT
 * (the only one that may pass), another key's, the wallet's own with one of the rules broken (expired, no `exp`, good
 * for too long, issued in the future, another audience), and forgeries: any header, claims made nearly valid by the
 * JSON mutations, signed by another key, with random bytes, with none, or with the wallet's signature of a JWT it made
 * earlier (captured, expired) whose parts were changed; written bare, after `Bearer `, padded, or with parts missing
 * or added.
 */
import { randomBytes, sign } from "node:crypto";
import fc from "fast-check";
import { walletIdentity } from "../../walletconnect/helpers.js";
import { anyJson, encodeJson, json, type JsonNode } from "../json.js";
import { applyMutations, mutations, type Mutation, type PathStep } from "../jsonMutations.js";

export type Wallet = ReturnType<typeof walletIdentity>;

/** The fuzzed Herald's `public_url`: the audience a JWT must name. */
export const PUBLIC_URL = "https://push.example.org";

/** A JWT tried on a client: its own, or one of the ways of failing; only `own` authenticates. */
export type JwtKind =
  "own" | "other-key" | "expired" | "no-exp" | "too-long" | "future" | "wrong-aud" | "alg-none" | "not-a-jwt";

export const jwtKinds: fc.Arbitrary<JwtKind> = fc.constantFrom(
  "own",
  "other-key",
  "expired",
  "no-exp",
  "too-long",
  "future",
  "wrong-aud",
  "alg-none",
  "not-a-jwt",
);

const HEADER = { typ: "JWT", alg: "EdDSA" };
const b64 = (bytes: Uint8Array | string) => Buffer.from(bytes).toString("base64url");

/** Valid claims for `wallet`, now; `overrides` replace them (undefined: the claim is left out). */
function claims(wallet: Wallet, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: wallet.did,
    aud: PUBLIC_URL,
    sub: randomBytes(16).toString("hex"),
    iat: now,
    exp: now + 3600,
    ...overrides,
  };
}

/** A JWT of header and claims (bytes as written), signed by `signer`'s key. */
function signed(header: Uint8Array | string, claimBytes: Uint8Array | string, signer: Wallet): string {
  const message = `${b64(header)}.${b64(claimBytes)}`;
  return `${message}.${b64(sign(null, Buffer.from(message), signer.privateKey))}`;
}

/** The `Authorization` of kind `kind` for `wallet`'s client; `stranger` is another wallet. */
export function jwtFor(kind: JwtKind, wallet: Wallet, stranger: Wallet): string {
  const now = Math.floor(Date.now() / 1000);
  const jwt = (overrides: Record<string, unknown>) =>
    signed(JSON.stringify(HEADER), JSON.stringify(claims(wallet, overrides)), wallet);
  switch (kind) {
    case "own":
      return jwt({});
    case "other-key":
      return signed(JSON.stringify(HEADER), JSON.stringify(claims(stranger)), stranger);
    case "expired":
      return jwt({ iat: now - 7200, exp: now - 3600 });
    case "no-exp":
      return jwt({ exp: undefined });
    case "too-long":
      return jwt({ exp: now + 2 * 86400 });
    case "future":
      return jwt({ iat: now + 3600, exp: now + 7200 });
    case "wrong-aud":
      return jwt({ aud: "https://echo.walletconnect.com" });
    case "alg-none":
      return `${b64(JSON.stringify({ typ: "JWT", alg: "none" }))}.${b64(JSON.stringify(claims(wallet)))}.`;
    case "not-a-jwt":
      return wallet.did;
  }
}

/** A forged `Authorization` for a victim's client: never signed by the victim's key over what it carries. */
export interface Forgery {
  header: "valid" | "alg-none" | "hs256" | JsonNode;
  claimMutations: Mutation[];
  signature: "stranger" | "random" | "empty" | "captured";
  wrap: "bare" | "bearer" | "padded" | "two-parts" | "four-parts";
}

const CLAIM_PATHS: PathStep[][] = [[], ["iss"], ["aud"], ["sub"], ["iat"], ["exp"]];

export const forgeries: fc.Arbitrary<Forgery> = fc.record({
  header: fc.oneof(
    { weight: 4, arbitrary: fc.constant<"valid">("valid") },
    { weight: 1, arbitrary: fc.constantFrom<"alg-none" | "hs256">("alg-none", "hs256") },
    { weight: 1, arbitrary: anyJson({ maxDepth: 2, keys: ["typ", "alg"] }) },
  ),
  claimMutations: fc.array(mutations(fc.constantFrom(...CLAIM_PATHS), { maxNesting: 100 }), { maxLength: 3 }),
  signature: fc.constantFrom("stranger", "random", "empty", "captured"),
  wrap: fc.constantFrom("bare", "bearer", "padded", "two-parts", "four-parts"),
});

/**
 * The header a forgery makes for `victim`. Its claims start as the victim's valid ones (or, for a captured JWT, the
 * expired ones the victim signed); whatever the mutations do, the signature is never the victim's over these bytes.
 */
export function forge(forgery: Forgery, victim: Wallet, stranger: Wallet): string {
  const now = Math.floor(Date.now() / 1000);
  const captured = forgery.signature === "captured";
  const base = claims(victim, captured ? { iat: now - 7200, exp: now - 3600 } : {});
  const claimTree = applyMutations(json.from(base), forgery.claimMutations);
  const header =
    forgery.header === "valid"
      ? JSON.stringify(HEADER)
      : forgery.header === "alg-none"
        ? JSON.stringify({ typ: "JWT", alg: "none" })
        : forgery.header === "hs256"
          ? JSON.stringify({ typ: "JWT", alg: "HS256" })
          : encodeJson(forgery.header);
  const message = `${b64(header)}.${b64(encodeJson(claimTree))}`;
  const signature =
    forgery.signature === "stranger"
      ? b64(sign(null, Buffer.from(message), stranger.privateKey))
      : forgery.signature === "random"
        ? b64(randomBytes(64))
        : forgery.signature === "empty"
          ? ""
          : // The victim's signature of the JWT it made earlier: valid for those bytes, which have expired.
            signed(JSON.stringify(HEADER), JSON.stringify(base), victim).split(".")[2]!;
  const jwt = `${message}.${signature}`;
  switch (forgery.wrap) {
    case "bare":
      return jwt;
    case "bearer":
      return `Bearer ${jwt}`;
    case "padded":
      return jwt.replace(/\.|$/g, "=.").slice(0, -1);
    case "two-parts":
      return message;
    case "four-parts":
      return `${jwt}.${signature}`;
  }
}
