/**
 * Compact JWS signing for provider credentials (APNs ES256 tokens, Google service-account RS256 assertions),
 * on node:crypto: a handful of lines that need no library.
 */
import { sign, type KeyObject } from "node:crypto";

export type JwtAlgorithm = "ES256" | "RS256";

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString("base64url");
}

export function signJwt(
  algorithm: JwtAlgorithm,
  key: KeyObject,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): string {
  const input = `${base64url(JSON.stringify({ alg: algorithm, typ: "JWT", ...header }))}.${base64url(JSON.stringify(claims))}`;
  // JWS wants the raw r||s form of an ECDSA signature, not DER.
  const signature = sign(
    "sha256",
    Buffer.from(input),
    algorithm === "ES256" ? { key, dsaEncoding: "ieee-p1363" } : key,
  );
  return `${input}.${base64url(signature)}`;
}
