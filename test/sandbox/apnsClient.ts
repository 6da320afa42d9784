/** A minimal APNs client for the sandbox's tests: plain node:http2 over TLS trusting the sandbox CA, and ES256 JWTs. */
import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http2";
import type { ApnsKey } from "../../src/sandbox/apns.js";

export interface ApnsResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface SigningKey {
  key: ApnsKey;
  privateKey: KeyObject;
}

export function makeSigningKey(keyId: string, teamId: string): SigningKey {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const publicKeyPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  return { key: { keyId, teamId, publicKeyPem }, privateKey };
}

export function signJwt(
  signer: SigningKey,
  issuedAtSeconds: number,
  overrides: { alg?: string; kid?: string; iss?: string } = {},
): string {
  const header = encodeJson({ alg: overrides.alg ?? "ES256", kid: overrides.kid ?? signer.key.keyId });
  const claims = encodeJson({ iss: overrides.iss ?? signer.key.teamId, iat: issuedAtSeconds });
  const signingInput = `${header}.${claims}`;
  const signature = sign("sha256", Buffer.from(signingInput), { key: signer.privateKey, dsaEncoding: "ieee-p1363" });
  return `${signingInput}.${signature.toString("base64url")}`;
}

function encodeJson(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** A connection that trusts only the sandbox CA, optionally presenting a client certificate. */
export async function connect(
  url: string,
  caPem: string,
  clientCertificate?: { certPem: string; keyPem: string },
): Promise<ClientHttp2Session> {
  const session = http2.connect(url, {
    ca: caPem,
    ...(clientCertificate && { cert: clientCertificate.certPem, key: clientCertificate.keyPem }),
  });
  // Tests that make the server drop the connection expect it; an unhandled 'error' would crash the runner instead.
  session.on("error", () => {});
  // The server's SETTINGS (its stream limit) must be known before a test sends requests in parallel.
  await new Promise<void>((resolve, reject) => {
    session.once("remoteSettings", () => resolve());
    session.once("close", () => reject(new Error("connection closed before the server's SETTINGS")));
  });
  return session;
}

export interface PushRequest {
  path: string;
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: string;
}

/** One request; rejects when the stream fails (RST_STREAM, GOAWAY refusal, lost connection). */
export function send(session: ClientHttp2Session, request: PushRequest): Promise<ApnsResponse> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ":method": request.method ?? "POST",
      ":path": request.path,
      ...request.headers,
    });
    let responseHeaders: IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    stream.on("response", (headers) => (responseHeaders = headers));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", reject);
    // A stream cut off with its connection ends without an error of its own; it must not pass for an answer.
    stream.on("close", () => {
      if (responseHeaders === undefined || !stream.readableEnded) {
        reject(new Error(`stream closed without a complete answer (RST code ${stream.rstCode})`));
        return;
      }
      const body = Buffer.concat(chunks).toString("utf8");
      resolve({ status: Number(responseHeaders[":status"]), headers: responseHeaders, body });
    });
    stream.end(request.body);
  });
}

export function reasonOf(response: ApnsResponse): unknown {
  return (JSON.parse(response.body) as { reason?: unknown }).reason;
}
