/**
 * A minimal Google client for the FCM sandbox's tests: RS256 assertions signed with a service-account key, the
 * JWT-bearer grant, and HTTPS/1.1 requests that trust only the sandbox CA.
 */
import { createPrivateKey, sign, type KeyObject } from "node:crypto";
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import https from "node:https";
import {
  FIREBASE_MESSAGING_SCOPE,
  JWT_BEARER_GRANT_TYPE,
  type ServiceAccountKey,
} from "../../src/sandbox/googleOAuth.js";

export interface HttpsResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One POST on a connection of its own (no keep-alive), so that a sandbox's close() never waits for it. */
export function httpsPost(
  url: string,
  caPem: string,
  request: { headers?: OutgoingHttpHeaders; body?: string | Buffer | null; method?: string },
): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const outgoing = https.request(url, {
      method: request.method ?? "POST",
      headers: request.headers,
      ca: caPem,
      agent: false,
    });
    outgoing.on("error", reject);
    outgoing.on("response", (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("error", reject);
      response.on("end", () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
    });
    outgoing.end(request.body ?? undefined);
  });
}

export interface AssertionOverrides {
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  /** Sign with this key instead of the account's. */
  privateKey?: KeyObject;
}

/** The assertion Google's client libraries make for a service account, valid for an hour from `nowSeconds`. */
export function signAssertion(
  account: ServiceAccountKey,
  nowSeconds: number,
  overrides: AssertionOverrides = {},
): string {
  const header = { alg: "RS256", typ: "JWT", kid: account.private_key_id, ...overrides.header };
  const claims = {
    iss: account.client_email,
    scope: FIREBASE_MESSAGING_SCOPE,
    aud: account.token_uri,
    iat: nowSeconds,
    exp: nowSeconds + 3600,
    ...overrides.claims,
  };
  const input = `${encodeJson(header)}.${encodeJson(claims)}`;
  const signature = sign("sha256", Buffer.from(input), overrides.privateKey ?? createPrivateKey(account.private_key));
  return `${input}.${signature.toString("base64url")}`;
}

/** The JWT-bearer grant, form-encoded, as Google's libraries send it. */
export function requestToken(
  tokenUri: string,
  caPem: string,
  assertion: string,
  grantType = JWT_BEARER_GRANT_TYPE,
): Promise<HttpsResponse> {
  return httpsPost(tokenUri, caPem, {
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: grantType, assertion }).toString(),
  });
}

/** An access token for the account, or a thrown error saying why the sandbox refused. */
export async function fetchAccessToken(account: ServiceAccountKey, caPem: string, nowSeconds: number): Promise<string> {
  const response = await requestToken(account.token_uri, caPem, signAssertion(account, nowSeconds));
  if (response.status !== 200) throw new Error(`token request refused: ${response.status} ${response.body}`);
  return (JSON.parse(response.body) as { access_token: string }).access_token;
}

function encodeJson(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}
