/**
 * A local fake of Google's OAuth 2 token endpoint (oauth2.googleapis.com/token) for service accounts, over real HTTPS,
 * for tests, the demo and the benchmark. It makes service-account key files that point at itself, checks the signed
 * JWT assertions of the JWT-bearer grant as Google does, and hands out opaque access tokens that the FCM sandbox
 * accepts until they expire by the sandbox clock.
 */
import { listen } from "../core/listen.js";
import { generateKeyPairSync, randomBytes, randomInt, verify, type KeyObject } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { SandboxCa } from "./ca.js";
import { ignore, parseJsonObject, readBody } from "./wire.js";

/** The scope an FCM v1 client asks for. */
export const FIREBASE_MESSAGING_SCOPE = "https://www.googleapis.com/auth/firebase.messaging";
export const JWT_BEARER_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/** A Google service-account key file, field for field. */
export interface ServiceAccountKey {
  type: "service_account";
  project_id: string;
  private_key_id: string;
  /** PKCS#8 PEM. */
  private_key: string;
  client_email: string;
  client_id: string;
  auth_uri: string;
  token_uri: string;
  auth_provider_x509_cert_url: string;
  client_x509_cert_url: string;
  universe_domain: string;
}

/** One access token handed out. */
export interface OAuthGrant {
  accessToken: string;
  projectId: string;
  clientEmail: string;
  privateKeyId: string;
  scope: string;
  /** Sandbox clock, ms. */
  issuedAt: number;
  expiresAt: number;
}

export interface GoogleOAuthSandboxOptions {
  ca: SandboxCa;
  /** Default "127.0.0.1". */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Clock in ms, for assertion times and token expiry (tests move it). */
  now?: () => number;
  /** `expires_in` of the access tokens; default 3600. */
  tokenLifetimeSeconds?: number;
}

/** Google refuses assertions that claim a longer life than this. */
const MAX_ASSERTION_LIFETIME_SECONDS = 3600;
const MAX_BODY_BYTES = 64 * 1024;

const LIFETIME_REFUSAL =
  "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.";

interface RegisteredKey {
  projectId: string;
  clientEmail: string;
  privateKeyId: string;
  publicKey: KeyObject;
}

interface Answer {
  status: number;
  body: string;
  contentType: string;
}

type AssertionVerdict = { valid: true; key: RegisteredKey; scope: string } | { valid: false; answer: Answer };

export class GoogleOAuthSandbox {
  readonly url: string;
  readonly tokenUri: string;
  /** Every access token handed out, in order. */
  readonly grants: OAuthGrant[] = [];

  private requestCount = 0;
  private readonly keys = new Map<string, RegisteredKey>();
  private readonly tokens = new Map<string, { projectId: string; expiresAt: number }>();
  private readonly scriptedFailures: Answer[] = [];
  private readonly now: () => number;
  private readonly tokenLifetimeSeconds: number;

  private constructor(
    private readonly server: https.Server,
    port: number,
    options: GoogleOAuthSandboxOptions,
  ) {
    this.url = `https://localhost:${port}`;
    this.tokenUri = `${this.url}/token`;
    this.now = options.now ?? Date.now;
    this.tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 3600;
    server.on("request", (request: IncomingMessage, response: ServerResponse) => this.onRequest(request, response));
  }

  static async start(options: GoogleOAuthSandboxOptions): Promise<GoogleOAuthSandbox> {
    const certificate = await options.ca.issueServerCertificate(["localhost", "127.0.0.1", "::1"]);
    const server = https.createServer({ key: certificate.keyPem, cert: certificate.certPem });
    // Clients that vanish mid-request are normal here; they must not crash the process hosting the sandbox.
    server.on("clientError", (_error, socket) => socket.destroy());
    await listen(server, options.port ?? 0, options.host ?? "127.0.0.1");
    return new GoogleOAuthSandbox(server, (server.address() as AddressInfo).port, options);
  }

  /** Access tokens handed out so far. */
  get tokensIssued(): number {
    return this.grants.length;
  }

  /** Every request seen, any answer. */
  get requests(): number {
    return this.requestCount;
  }

  /**
   * A new service account of that project: an RSA key pair whose public half this sandbox trusts, returned as the
   * JSON of a Google key file whose `token_uri` is this sandbox.
   */
  createServiceAccount(projectId: string): ServiceAccountKey {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const privateKeyId = randomBytes(20).toString("hex");
    const clientEmail = `herald-sandbox@${projectId}.iam.gserviceaccount.com`;
    this.keys.set(privateKeyId, { projectId, clientEmail, privateKeyId, publicKey });
    return {
      type: "service_account",
      project_id: projectId,
      private_key_id: privateKeyId,
      private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      client_email: clientEmail,
      client_id: randomDigits(21),
      // Everything points at the sandbox, so that nothing configured from this file can reach Google.
      auth_uri: `${this.url}/o/oauth2/auth`,
      token_uri: this.tokenUri,
      auth_provider_x509_cert_url: `${this.url}/oauth2/v1/certs`,
      client_x509_cert_url: `${this.url}/robot/v1/metadata/x509/${encodeURIComponent(clientEmail)}`,
      universe_domain: "googleapis.com",
    };
  }

  /** The project an access token is good for, while it is known, unrevoked and unexpired by the sandbox clock. */
  isValid(accessToken: string): { projectId: string } | undefined {
    const token = this.tokens.get(accessToken);
    if (token === undefined || this.now() >= token.expiresAt) return undefined;
    return { projectId: token.projectId };
  }

  revoke(accessToken: string): void {
    this.tokens.delete(accessToken);
  }

  /** Makes every access token handed out so far invalid, as if they had all expired (clients must get new ones). */
  expireAll(): void {
    this.tokens.clear();
  }

  /**
   * The next `count` token requests get this answer instead of being checked. The default body is Google's error
   * shape: `internal_failure` for a 5xx, `invalid_grant` otherwise. Calls queue up behind each other.
   */
  scriptFailure(count: number, status: number, body?: string | Record<string, unknown>): void {
    const answer = scriptedAnswer(status, body);
    for (let i = 0; i < count; i++) this.scriptedFailures.push(answer);
  }

  /** Forgets grants, counters and scripted failures; tokens already handed out stay valid. */
  reset(): void {
    this.grants.length = 0;
    this.requestCount = 0;
    this.scriptedFailures.length = 0;
  }

  /** Closes every connection and the server. */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onRequest(request: IncomingMessage, response: ServerResponse): void {
    this.requestCount++;
    request.on("error", ignore);
    response.on("error", ignore);
    readBody(request, MAX_BODY_BYTES, (body) => {
      const answer = this.answer(request, body);
      response.writeHead(answer.status, {
        "content-type": answer.contentType,
        "cache-control": "no-cache, no-store, max-age=0, must-revalidate",
      });
      response.end(answer.body);
    });
  }

  private answer(request: IncomingMessage, body: Buffer | undefined): Answer {
    const path = (request.url ?? "").split("?")[0];
    if (path !== "/token") return { status: 404, body: "Not Found", contentType: "text/plain" };
    if (request.method !== "POST") return { status: 405, body: "Method Not Allowed", contentType: "text/plain" };
    const scripted = this.scriptedFailures.shift();
    if (scripted !== undefined) return scripted;
    if (body === undefined) return oauthError(413, "invalid_request", "Request too large");

    const form = parseForm(body.toString("utf8"), request.headers["content-type"]);
    const grantType = form.get("grant_type");
    if (grantType !== JWT_BEARER_GRANT_TYPE) {
      return oauthError(400, "unsupported_grant_type", `Invalid grant_type: ${grantType ?? ""}`);
    }
    const assertion = form.get("assertion");
    if (assertion === undefined) return oauthError(400, "invalid_request", "Missing required parameter: assertion");
    const verdict = this.checkAssertion(assertion);
    return verdict.valid ? this.issue(verdict.key, verdict.scope) : verdict.answer;
  }

  /** Google's checks of a service account's assertion: known key, signature, audience, times, scope. */
  private checkAssertion(assertion: string): AssertionVerdict {
    const refuse = (description: string, error = "invalid_grant"): AssertionVerdict => ({
      valid: false,
      answer: oauthError(400, error, description),
    });
    const jwt = decodeJwt(assertion);
    if (jwt === undefined) return refuse("Invalid JWT: the assertion is not a compact JWS.");
    const { header, claims } = jwt;

    const candidates = this.keysFor(header["kid"], claims["iss"]);
    if (candidates.length === 0) return refuse("Invalid grant: account not found");
    const key = candidates.find((candidate) => header["alg"] === "RS256" && verifyRs256(jwt, candidate.publicKey));
    if (key === undefined) return refuse("Invalid JWT Signature.");

    if (claims["aud"] !== this.tokenUri) {
      return refuse(`Invalid JWT: Failed audience check. The right audience is ${this.tokenUri}`);
    }
    const issuedAt = claims["iat"];
    const expiresAt = claims["exp"];
    if (typeof issuedAt !== "number" || typeof expiresAt !== "number") return refuse(LIFETIME_REFUSAL);
    const now = this.now();
    const inTime = issuedAt * 1000 <= now && now <= expiresAt * 1000;
    if (!inTime || expiresAt - issuedAt > MAX_ASSERTION_LIFETIME_SECONDS) return refuse(LIFETIME_REFUSAL);

    // Google's answer to an assertion without a usable scope is `invalid_scope`, not `invalid_grant`.
    const scope = claims["scope"];
    if (typeof scope !== "string" || !scope.split(" ").includes(FIREBASE_MESSAGING_SCOPE)) {
      return refuse("Invalid OAuth scope or ID token audience provided.", "invalid_scope");
    }
    return { valid: true, key, scope };
  }

  /** The key named by `kid` (which must belong to `iss`), else every key of the account named by `iss`. */
  private keysFor(keyId: unknown, issuer: unknown): RegisteredKey[] {
    if (typeof keyId === "string") {
      const key = this.keys.get(keyId);
      return key !== undefined && key.clientEmail === issuer ? [key] : [];
    }
    return [...this.keys.values()].filter((key) => key.clientEmail === issuer);
  }

  private issue(key: RegisteredKey, scope: string): Answer {
    const accessToken = `ya29.sandbox.${randomBytes(32).toString("base64url")}`;
    const issuedAt = this.now();
    const expiresAt = issuedAt + this.tokenLifetimeSeconds * 1000;
    this.tokens.set(accessToken, { projectId: key.projectId, expiresAt });
    this.grants.push({
      accessToken,
      projectId: key.projectId,
      clientEmail: key.clientEmail,
      privateKeyId: key.privateKeyId,
      scope,
      issuedAt,
      expiresAt,
    });
    const body = { access_token: accessToken, expires_in: this.tokenLifetimeSeconds, token_type: "Bearer" };
    return { status: 200, body: JSON.stringify(body), contentType: "application/json; charset=utf-8" };
  }
}

interface DecodedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

function decodeJwt(jwt: string): DecodedJwt | undefined {
  const parts = jwt.split(".");
  if (parts.length !== 3) return undefined;
  const [encodedHeader = "", encodedClaims = "", encodedSignature = ""] = parts;
  const header = parseJsonObject(Buffer.from(encodedHeader, "base64url").toString("utf8"));
  const claims = parseJsonObject(Buffer.from(encodedClaims, "base64url").toString("utf8"));
  if (header === undefined || claims === undefined) return undefined;
  return {
    header,
    claims,
    signingInput: `${encodedHeader}.${encodedClaims}`,
    signature: Buffer.from(encodedSignature, "base64url"),
  };
}

function verifyRs256(jwt: DecodedJwt, publicKey: KeyObject): boolean {
  try {
    return verify("sha256", Buffer.from(jwt.signingInput), publicKey, jwt.signature);
  } catch {
    // A signature of the wrong length or encoding is as invalid as a wrong one.
    return false;
  }
}

/** Google's client libraries send a form; Google also takes the same fields as JSON. */
function parseForm(body: string, contentType: string | undefined): Map<string, string> {
  if (contentType?.toLowerCase().startsWith("application/json")) {
    const json = parseJsonObject(body) ?? {};
    return new Map(
      Object.entries(json).flatMap(([name, value]) => (typeof value === "string" ? [[name, value] as const] : [])),
    );
  }
  return new Map(new URLSearchParams(body));
}

function oauthError(status: number, error: string, description: string): Answer {
  return {
    status,
    body: JSON.stringify({ error, error_description: description }),
    contentType: "application/json; charset=utf-8",
  };
}

function scriptedAnswer(status: number, body: string | Record<string, unknown> | undefined): Answer {
  if (typeof body === "string") return { status, body, contentType: "text/plain; charset=utf-8" };
  if (body !== undefined) return { status, body: JSON.stringify(body), contentType: "application/json; charset=utf-8" };
  return status >= 500
    ? oauthError(status, "internal_failure", "Backend Error")
    : oauthError(status, "invalid_grant", "Scripted refusal");
}

/** A numeric id like Google's `client_id`, without a leading zero. */
function randomDigits(count: number): string {
  let digits = String(randomInt(1, 10));
  while (digits.length < count) digits += String(randomInt(0, 10));
  return digits;
}
