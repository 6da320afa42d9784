/**
 * The `Authorization` of `POST /clients` and `DELETE /clients/:id`: a JWT the wallet signs with its client key, as
 * WalletConnect's push server checks it (relay_rpc `JwtBasicClaims`, `verify_basic`), and as WalletConnect's Swift SDK
 * sends it (`PushAuthPayload`: `iss`, `sub`, `aud`, `iat`, `exp`, a day after `iat`). The JWT must be
 * `{"typ":"JWT","alg":"EdDSA"}`, signed by the ed25519 key its `iss` did:key names, with `iss` the client id of the
 * request, `aud` one of this server's public URLs (when configured), and `exp`: not passed, not issued in the future
 * (120 seconds of leeway either way), and good for at most `MAX_LIFETIME_SECONDS` from `iat`.
 *
 * Beyond the original: `exp` is required (without it a JWT that leaked would be good for ever) and bounded (a JWT
 * good for years is one that leaked for years). The format has no claim that tells a registration's JWT from a
 * deletion's (the Swift SDK makes both alike), so none is asked for: a JWT is good for either until it expires.
 *
 * No header at all is not this module's concern: the service accepts it unless `require_client_auth` is on.
 */
import { createPublicKey, verify } from "node:crypto";
import { DID_KEY_PREFIX, stripDidKey } from "./request.js";

/** `key`: the did:key that authenticated the request; undefined when it came without `Authorization`. */
export type ClientAuthCheck = { ok: true; key: string | undefined } | { ok: false; why: string };

const LEEWAY_SECONDS = 120;
/**
 * The longest `exp - iat` accepted: the Swift SDK's JWTs are good for a calendar day, which is 25 hours when the clocks
 * go back; the leeway covers the second that may tick between its reading of `iat` and of `exp`.
 */
export const MAX_LIFETIME_SECONDS = 25 * 3600 + LEEWAY_SECONDS;
/** The multicodec prefix of an ed25519 public key in a did:key. */
const ED25519_MULTICODEC = [0xed, 0x01];
const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

export function checkClientAuth(
  authorization: string | undefined,
  clientId: string,
  audiences: readonly string[] | undefined,
  nowMs: number,
): ClientAuthCheck {
  if (authorization === undefined) return { ok: true, key: undefined };
  const token = authorization.replace(/^bearer\s+/i, "");
  const parts = token.split(".");
  if (parts.length !== 3) return refused("not a JWT (three dot-separated parts)");
  const [headerPart, claimsPart, signaturePart] = parts as [string, string, string];
  const header = decodeJson(headerPart);
  if (header?.typ !== "JWT" || header.alg !== "EdDSA") return refused('its header is not {"typ":"JWT","alg":"EdDSA"}');
  const claims = decodeJson(claimsPart);
  if (
    typeof claims?.iss !== "string" ||
    typeof claims.aud !== "string" ||
    typeof claims.sub !== "string" ||
    !Number.isInteger(claims.iat) ||
    !Number.isInteger(claims.exp)
  ) {
    return refused("its claims lack iss, aud, sub, iat or exp, or have the wrong types");
  }
  const publicKey = didKeyPublicKey(claims.iss);
  if (publicKey === undefined) return refused("its iss is not an ed25519 did:key");
  const signature = base64Url(signaturePart);
  const signed = Buffer.from(`${headerPart}.${claimsPart}`, "ascii");
  if (signature?.length !== 64 || !verify(null, signed, ed25519Key(publicKey), signature)) {
    return refused("its signature does not verify with the key of its iss");
  }
  const now = Math.floor(nowMs / 1000);
  const [iat, exp] = [claims.iat as number, claims.exp as number];
  if (now - LEEWAY_SECONDS > exp) return refused("it has expired");
  if (now + LEEWAY_SECONDS < iat) return refused("it is issued in the future");
  if (exp - iat > MAX_LIFETIME_SECONDS) {
    return refused(`it is good for ${exp - iat}s after its iat, longer than ${MAX_LIFETIME_SECONDS}s`);
  }
  if (audiences !== undefined && !audiences.some((audience) => sameUrl(audience, claims.aud as string))) {
    return refused(`its aud is not this server's public_url`);
  }
  const id = stripDidKey(claims.iss);
  if (id !== clientId) return refused("its iss is another client id");
  return { ok: true, key: `${DID_KEY_PREFIX}${id}` };
}

/** Two spellings of one URL: `https://push.example.org` and `https://push.example.org/`. */
function sameUrl(a: string, b: string): boolean {
  return a.replace(/\/+$/, "") === b.replace(/\/+$/, "");
}

/** The 32 key bytes of an ed25519 `did:key:z…`, or undefined. */
export function didKeyPublicKey(did: string): Buffer | undefined {
  const id = stripDidKey(did);
  if (!id.startsWith("z") || id === did) return undefined;
  const bytes = base58Decode(id.slice(1));
  if (bytes?.length !== 34 || bytes[0] !== ED25519_MULTICODEC[0] || bytes[1] !== ED25519_MULTICODEC[1]) {
    return undefined;
  }
  return bytes.subarray(2);
}

/** The did:key of an ed25519 public key (32 bytes): how a wallet names itself. */
export function didKeyOf(publicKey: Uint8Array): string {
  return `did:key:z${base58Encode(Buffer.concat([Buffer.from(ED25519_MULTICODEC), publicKey]))}`;
}

function ed25519Key(raw: Buffer) {
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") }, format: "jwk" });
}

function refused(why: string): ClientAuthCheck {
  return { ok: false, why: `the Authorization JWT was refused: ${why}` };
}

function base64Url(text: string): Buffer | undefined {
  return /^[A-Za-z0-9_-]*$/.test(text) ? Buffer.from(text, "base64url") : undefined;
}

function decodeJson(part: string): Record<string, unknown> | undefined {
  const bytes = base64Url(part);
  if (bytes === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(bytes.toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function base58Decode(text: string): Buffer | undefined {
  let value = 0n;
  for (const character of text) {
    const digit = BASE58.indexOf(character);
    if (digit < 0) return undefined;
    value = value * 58n + BigInt(digit);
  }
  const bytes: number[] = [];
  for (; value > 0n; value >>= 8n) bytes.unshift(Number(value & 0xffn));
  const leadingZeros = /^1*/.exec(text)![0].length;
  return Buffer.from([...new Array<number>(leadingZeros).fill(0), ...bytes]);
}

function base58Encode(bytes: Uint8Array): string {
  let value = BigInt(`0x${Buffer.from(bytes).toString("hex") || "0"}`);
  let text = "";
  for (; value > 0n; value /= 58n) text = BASE58[Number(value % 58n)] + text;
  const leadingZeros = bytes.findIndex((byte) => byte !== 0);
  return "1".repeat(leadingZeros < 0 ? bytes.length : leadingZeros) + text;
}
