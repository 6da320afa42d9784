/**
 * A local fake Web Push service (RFC 8030) over real TLS, like Mozilla's autopush or FCM's web endpoint, for tests,
 * the demo and the benchmark. It hands out subscriptions as a browser would (a P-256 key pair and an auth secret) and,
 * unlike a real push service, keeps their private halves: besides checking the VAPID authorization (RFC 8292) and the
 * headers the way push services do, it decrypts every message (RFC 8188 "aes128gcm", RFC 8291) the way the browser
 * would, so that tests assert on the plaintext. Answers can be scripted per subscription or drawn from a fault mix.
 */
import { listen } from "../core/listen.js";
import {
  createDecipheriv,
  createECDH,
  createPublicKey,
  hkdfSync,
  randomBytes,
  randomUUID,
  verify,
  type ECDH,
  type KeyObject,
} from "node:crypto";
import { EventEmitter } from "node:events";
import {
  createServer as createHttpServer,
  STATUS_CODES,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from "node:http";
import http2, {
  Http2ServerRequest,
  type Http2SecureServer,
  type Http2ServerResponse,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
} from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import type { FaultMix } from "./apns.js";
import type { SandboxCa } from "./ca.js";
import {
  type Exchange,
  header,
  ignore,
  isObject,
  parseJson,
  pickLatency,
  readBody,
  type Reply,
  Scripts,
  toExchange,
} from "./wire.js";

/** As a browser's `PushSubscription.toJSON()` gives it; the keys are base64url without padding. */
export interface PushSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface WebPushAnswer {
  /** e.g. 201, 400, 404, 410, 413, 429, 500, 503; any 2xx delivers the message. */
  status: number;
  /** Seconds, sent as Retry-After. */
  retryAfter?: number;
  /** Answer after this long. */
  delayMs?: number;
  /** Never answer this request. */
  hang?: boolean;
  /** Reset instead of answering: RST_STREAM (INTERNAL_ERROR) on HTTP/2, the connection destroyed on HTTP/1.1. */
  reset?: boolean;
}

/** For load tests; applied to requests that passed every check and have no scripted answer. errorRate → 503. */
export type WebPushFaultMix = Omit<FaultMix, "goawayEvery">;

/** The claims of the VAPID JWT that authorized a push, and the key (`k`) that signed it. */
export interface VapidClaims {
  publicKey: string;
  aud: string;
  sub: string;
  exp: number;
}

export interface ReceivedWebPush {
  subscriptionId: string;
  endpoint: string;
  ttl: number;
  urgency: string | undefined;
  topic: string | undefined;
  vapid: VapidClaims;
  /** The decrypted message, as UTF-8. */
  plaintext: string;
  /** JSON.parse(plaintext), or undefined when it is not JSON. */
  payload: unknown;
  headers: IncomingHttpHeaders;
  receivedAt: number;
}

export interface WebPushSandboxOptions {
  ca: SandboxCa;
  /** Default "127.0.0.1". */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Clock in ms, for the VAPID `exp` checks and `receivedAt` (tests move it). */
  now?: () => number;
  /** Plain HTTP/1.1 instead of TLS: a push service at an `http://` URL (a self-hosted one on a private network). */
  plain?: boolean;
}

export interface SubscriptionOptions {
  /**
   * The VAPID public key (base64url) the subscription was made with, as `applicationServerKey` in a browser; pushes
   * signed by any other key are then refused with 403. Without it, any VAPID key is accepted.
   */
  applicationServerKey?: string;
}

/** RFC 8030 requires push services to take at least 4096 bytes of payload; this one takes no more. */
const MAX_BODY_BYTES = 4096;
/** RFC 8292 §2: a JWT's `exp` is at most 24 hours ahead. */
const MAX_VAPID_LIFETIME_S = 24 * 60 * 60;
/** Bounds the memory of the JWT verdict cache; a working gateway uses a handful of JWTs a day per key. */
const MAX_CACHED_JWTS = 10_000;

const PUSH_PATH = /^\/push\/([A-Za-z0-9_-]+)$/;
const NON_NEGATIVE_INTEGER = /^[0-9]+$/;
const URGENCIES = new Set(["very-low", "low", "normal", "high"]);
/** RFC 8030 §5.4: at most 32 characters of the URL- and filename-safe base64 alphabet. */
const TOPIC = /^[A-Za-z0-9_=-]{1,32}$/;
const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;

// RFC 8188 §2.1 header: salt(16) ‖ rs(4) ‖ idlen(1) ‖ keyid(idlen); RFC 8291 puts the sender's public key in keyid.
const SALT_BYTES = 16;
const UNCOMPRESSED_P256_BYTES = 65;
const HEADER_BYTES = SALT_BYTES + 4 + 1 + UNCOMPRESSED_P256_BYTES;
const TAG_BYTES = 16;
/** RFC 8188 §2: a record holds at least one byte of padding delimiter and the tag. */
const MIN_RECORD_SIZE = TAG_BYTES + 2;
const AUTH_SECRET_BYTES = 16;
const LAST_RECORD_DELIMITER = 0x02;
const WEBPUSH_INFO = Buffer.from("WebPush: info\0");
const CEK_INFO = Buffer.from("Content-Encoding: aes128gcm\0");
const NONCE_INFO = Buffer.from("Content-Encoding: nonce\0");

interface Subscription {
  readonly id: string;
  readonly endpoint: string;
  /** Holds the private key; computeSecret() does the ECDH of RFC 8291 §3.1. */
  readonly ecdh: ECDH;
  readonly publicKey: Buffer;
  readonly authSecret: Buffer;
  readonly applicationServerKey: Buffer | undefined;
  expired: boolean;
}

type Check = { accepted: true; subscription: Subscription; push: Omit<ReceivedWebPush, "receivedAt"> } | Refused;
type Refused = { accepted: false; reply: Reply };

/** What a JWT says, once its signature was checked; the time-dependent checks are made per request. */
type JwtVerdict = { valid: true; aud: string; sub: string; exp: number } | { valid: false; why: string };

export class WebPushSandbox extends EventEmitter<{ push: [ReceivedWebPush] }> {
  /** "https://localhost:<port>" ("http://…" when plain); also the `aud` that VAPID JWTs must name. */
  readonly url: string;
  /** Every push delivered (2xx), in order. */
  readonly received: ReceivedWebPush[] = [];
  /** Settable at any time. */
  faults: WebPushFaultMix = {};

  private requestCount = 0;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly scripts = new Scripts<WebPushAnswer>();
  private readonly jwtVerdicts = new Map<string, JwtVerdict>();
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly now: () => number;

  private constructor(
    private readonly server: Http2SecureServer | HttpServer,
    port: number,
    options: WebPushSandboxOptions,
  ) {
    super();
    this.url = `${options.plain ? "http" : "https"}://localhost:${port}`;
    this.now = options.now ?? Date.now;
    server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
    server.on("session", (session: ServerHttp2Session) => {
      this.sessions.add(session);
      session.once("close", () => this.sessions.delete(session));
      // Clients that vanish mid-stream are normal here; they must not crash the process hosting the sandbox.
      session.on("error", ignore);
    });
    server.on(
      "request",
      (request: Http2ServerRequest | IncomingMessage, response: Http2ServerResponse | ServerResponse) =>
        this.onRequest(request, response),
    );
  }

  static async start(options: WebPushSandboxOptions): Promise<WebPushSandbox> {
    let server: Http2SecureServer | HttpServer;
    if (options.plain) {
      server = createHttpServer();
    } else {
      const certificate = await options.ca.issueServerCertificate(["localhost", "127.0.0.1", "::1"]);
      // Push services speak both; Web Push libraries mostly use HTTP/1.1.
      server = http2.createSecureServer({ key: certificate.keyPem, cert: certificate.certPem, allowHTTP1: true });
    }
    await listen(server, options.port ?? 0, options.host ?? "127.0.0.1");
    return new WebPushSandbox(server, (server.address() as AddressInfo).port, options);
  }

  /** Every request seen, any answer. */
  get requests(): number {
    return this.requestCount;
  }

  /** A new subscription, as a browser's pushManager.subscribe() makes one: its own key pair and auth secret. */
  createSubscription(options: SubscriptionOptions = {}): PushSubscription & { id: string } {
    const id = randomBytes(16).toString("base64url");
    const ecdh = createECDH("prime256v1");
    const publicKey = ecdh.generateKeys();
    const authSecret = randomBytes(AUTH_SECRET_BYTES);
    const endpoint = `${this.url}/push/${id}`;
    const applicationServerKey =
      options.applicationServerKey === undefined ? undefined : Buffer.from(options.applicationServerKey, "base64url");
    this.subscriptions.set(id, { id, endpoint, ecdh, publicKey, authSecret, applicationServerKey, expired: false });
    return {
      id,
      endpoint,
      keys: { p256dh: publicKey.toString("base64url"), auth: authSecret.toString("base64url") },
    };
  }

  /** Later pushes to it get 410 Gone, as after the browser unsubscribed. */
  expire(id: string): void {
    const subscription = this.subscriptions.get(id);
    if (subscription === undefined) throw new Error(`no subscription ${id}`);
    subscription.expired = true;
  }

  /** Answers for that subscription, used in order; the last one repeats. Given after every check passed. */
  script(id: string, ...answers: WebPushAnswer[]): void {
    this.scripts.set(id, answers);
  }

  clearScripts(): void {
    this.scripts.clear();
  }

  /** Forgets received pushes, the request count, scripts and faults; subscriptions (and expiries) stay. */
  reset(): void {
    this.received.length = 0;
    this.requestCount = 0;
    this.scripts.clear();
    this.faults = {};
  }

  /** Closes every connection and the server, without waiting for hung or delayed requests. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const session of this.sessions) session.destroy();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onRequest(
    request: Http2ServerRequest | IncomingMessage,
    response: Http2ServerResponse | ServerResponse,
  ): void {
    this.requestCount++;
    const exchange = toExchange(request, response);
    readBody(request, MAX_BODY_BYTES, (body) => {
      const result = this.check(exchange, body);
      if (!result.accepted) return exchange.reply(result.reply);
      const answer = this.scripts.next(result.subscription.id) ?? this.faultAnswer();
      this.perform(exchange, answer, result.push);
    });
  }

  /** The push service's checks, then the browser's: endpoint, VAPID, headers, content coding, decryption. */
  private check(exchange: Exchange, body: Buffer | undefined): Check {
    const id = PUSH_PATH.exec(exchange.path)?.[1];
    if (id === undefined) return refuse(404, "No such endpoint.");
    if (exchange.method !== "POST") return refuse(405, "Push messages are sent with POST.");
    const subscription = this.subscriptions.get(id);
    if (subscription === undefined) return refuse(404, "Invalid subscription endpoint.");
    if (subscription.expired) return refuse(410, "The subscription has expired or was unsubscribed.");

    const headers = exchange.headers;
    const vapid = this.authorize(headers, subscription);
    if ("accepted" in vapid) return vapid;

    const ttlText = header(headers, "ttl");
    if (ttlText === undefined) return refuse(400, "Missing TTL header.");
    const ttl = Number(ttlText);
    if (!NON_NEGATIVE_INTEGER.test(ttlText) || !Number.isSafeInteger(ttl)) return refuse(400, "Invalid TTL header.");
    const urgency = header(headers, "urgency");
    if (urgency !== undefined && !URGENCIES.has(urgency)) return refuse(400, "Invalid Urgency header.");
    const topic = header(headers, "topic");
    if (topic !== undefined && !TOPIC.test(topic)) return refuse(400, "Invalid Topic header.");

    const contentEncoding = header(headers, "content-encoding");
    // RFC 8030 §5 lets a push carry no payload at all, and then it needs no content coding.
    const emptyPush = contentEncoding === undefined && body !== undefined && body.length === 0;
    if (!emptyPush && contentEncoding?.toLowerCase() !== "aes128gcm") {
      return refuse(415, "Content-Encoding must be aes128gcm.");
    }
    if (body === undefined) return refuse(413, `The body is larger than ${MAX_BODY_BYTES} bytes.`);
    const plain = emptyPush ? Buffer.alloc(0) : decrypt(body, subscription);
    if (plain === undefined) return refuse(400, "The message does not decrypt with the subscription's keys.");

    const plaintext = plain.toString("utf8");
    return {
      accepted: true,
      subscription,
      push: {
        subscriptionId: id,
        endpoint: subscription.endpoint,
        ttl,
        urgency,
        topic,
        vapid,
        plaintext,
        payload: parseJson(plaintext),
        headers,
      },
    };
  }

  /** RFC 8292: a JWT signed by the key `k`, for this origin, not expired nor too long-lived, with a contact. */
  private authorize(headers: IncomingHttpHeaders, subscription: Subscription): VapidClaims | Refused {
    const credentials = vapidCredentials(headers);
    if (credentials === undefined) return unauthorized();
    const { jwt, publicKey } = credentials;
    if (subscription.applicationServerKey !== undefined) {
      const key = decodeBase64url(publicKey);
      if (key === undefined || !key.equals(subscription.applicationServerKey)) {
        return refuse(403, "The VAPID key is not the one the subscription was made with.");
      }
    }
    const verdict = this.jwtVerdict(jwt, publicKey);
    if (!verdict.valid) return refuse(403, verdict.why);
    const { aud, sub, exp } = verdict;
    if (aud !== this.url) return refuse(403, "The VAPID aud is not this push service's origin.");
    const nowS = this.now() / 1000;
    if (exp <= nowS) return refuse(403, "The VAPID JWT has expired.");
    if (exp > nowS + MAX_VAPID_LIFETIME_S) return refuse(403, "The VAPID exp is more than 24 hours ahead.");
    if (!sub.startsWith("mailto:") && !sub.startsWith("https:")) {
      return refuse(403, "The VAPID sub must be a mailto: or https: URI.");
    }
    return { publicKey, aud, sub, exp };
  }

  /** Verifying a signature costs more than the rest of a check, and a sender reuses one JWT for hours. */
  private jwtVerdict(jwt: string, publicKey: string): JwtVerdict {
    const cacheKey = `${publicKey} ${jwt}`;
    let verdict = this.jwtVerdicts.get(cacheKey);
    if (verdict === undefined) {
      verdict = verifyVapidJwt(jwt, publicKey);
      if (this.jwtVerdicts.size >= MAX_CACHED_JWTS) this.jwtVerdicts.clear();
      this.jwtVerdicts.set(cacheKey, verdict);
    }
    return verdict;
  }

  private faultAnswer(): WebPushAnswer {
    const { latencyMs, errorRate = 0, resetRate = 0, hangRate = 0 } = this.faults;
    const delayMs = pickLatency(latencyMs);
    // One draw split into bands, so that the rates add up instead of shadowing each other.
    const draw = Math.random();
    if (draw < hangRate) return { status: 201, delayMs, hang: true };
    if (draw < hangRate + resetRate) return { status: 201, delayMs, reset: true };
    if (draw < hangRate + resetRate + errorRate) return { status: 503, delayMs };
    return { status: 201, delayMs };
  }

  /** Waits, hangs or resets as the answer says; a 2xx records the push when it is answered. */
  private perform(exchange: Exchange, answer: WebPushAnswer, push: Omit<ReceivedWebPush, "receivedAt">): void {
    const act = () => {
      if (answer.hang) return;
      if (answer.reset) return exchange.reset();
      if (answer.status >= 300) return exchange.reply(errorReply(answer.status, undefined, answer.retryAfter));
      this.record(push);
      // RFC 8030 §5: the push message resource, and the TTL the service will keep the message for.
      const headers = { location: `${this.url}/message/${randomUUID()}`, ttl: String(push.ttl) };
      exchange.reply({ status: answer.status, headers, body: "" });
    };
    if (answer.delayMs !== undefined && answer.delayMs > 0) this.later(act, answer.delayMs);
    else act();
  }

  private record(push: Omit<ReceivedWebPush, "receivedAt">): void {
    const received: ReceivedWebPush = { ...push, receivedAt: this.now() };
    this.received.push(received);
    this.emit("push", received);
  }

  /** A timer that close() cancels, so that delayed answers neither outlive the sandbox nor keep Node running. */
  private later(action: () => void, delayMs: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      action();
    }, delayMs);
    this.timers.add(timer);
  }
}

/**
 * The JWT and key of either form: RFC 8292's `vapid t=<jwt>, k=<key>`, or the older drafts' `WebPush <jwt>` with the
 * key in `Crypto-Key: p256ecdsa=<key>` (still sent by senders that use the "aesgcm" era headers).
 */
function vapidCredentials(headers: IncomingHttpHeaders): { jwt: string; publicKey: string } | undefined {
  const authorization = header(headers, "authorization")?.trim() ?? "";
  const space = authorization.search(/\s/);
  if (space < 0) return undefined;
  const scheme = authorization.slice(0, space).toLowerCase();
  const rest = authorization.slice(space + 1);
  if (scheme === "vapid") {
    const params = parseParams(rest, ",");
    const jwt = params.get("t");
    const publicKey = params.get("k");
    return jwt && publicKey ? { jwt, publicKey } : undefined;
  }
  if (scheme === "webpush") {
    const jwt = rest.trim();
    const publicKey = parseParams(header(headers, "crypto-key") ?? "", /[;,]/).get("p256ecdsa");
    return jwt && publicKey ? { jwt, publicKey } : undefined;
  }
  return undefined;
}

/** `name=value` pairs; values may be quoted, names are case-insensitive. */
function parseParams(text: string, separator: string | RegExp): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of text.split(separator)) {
    const equals = part.indexOf("=");
    if (equals < 0) continue;
    const value = part.slice(equals + 1).trim();
    params.set(part.slice(0, equals).trim().toLowerCase(), value.replace(/^"(.*)"$/, "$1"));
  }
  return params;
}

/** An ES256 JWS over the claims, signed by the uncompressed P-256 point `publicKey` (base64url). */
function verifyVapidJwt(jwt: string, publicKey: string): JwtVerdict {
  const parts = jwt.split(".");
  const [encodedHeader, encodedClaims, encodedSignature] = parts;
  if (parts.length !== 3 || encodedHeader === undefined || encodedClaims === undefined || !encodedSignature) {
    return { valid: false, why: "The VAPID token is not a JWT." };
  }
  const jwtHeader = parseJson(decodeBase64url(encodedHeader)?.toString("utf8") ?? "");
  if (!isObject(jwtHeader) || jwtHeader["alg"] !== "ES256") {
    return { valid: false, why: "The VAPID JWT must be signed with ES256." };
  }
  const key = p256PublicKey(publicKey);
  if (key === undefined) return { valid: false, why: "The VAPID key is not an uncompressed P-256 public key." };
  // JWS carries the raw r‖s form of an ECDSA signature, not DER.
  const signature = decodeBase64url(encodedSignature);
  const input = Buffer.from(`${encodedHeader}.${encodedClaims}`);
  if (signature?.length !== 64 || !verify("sha256", input, { key, dsaEncoding: "ieee-p1363" }, signature)) {
    return { valid: false, why: "The VAPID JWT is not signed by the key k." };
  }
  const claims = parseJson(decodeBase64url(encodedClaims)?.toString("utf8") ?? "");
  if (!isObject(claims)) return { valid: false, why: "The VAPID JWT's claims are not a JSON object." };
  const { aud, sub, exp } = claims;
  if (typeof aud !== "string" || typeof sub !== "string" || typeof exp !== "number") {
    return { valid: false, why: "The VAPID JWT needs aud, sub and exp claims." };
  }
  return { valid: true, aud, sub, exp };
}

/** A KeyObject for an uncompressed point (0x04 ‖ x ‖ y); undefined for anything else, points off the curve included. */
function p256PublicKey(base64url: string): KeyObject | undefined {
  const point = decodeBase64url(base64url);
  if (point?.length !== UNCOMPRESSED_P256_BYTES || point[0] !== 0x04) return undefined;
  const x = point.subarray(1, 33).toString("base64url");
  const y = point.subarray(33).toString("base64url");
  try {
    return createPublicKey({ key: { kty: "EC", crv: "P-256", x, y }, format: "jwk" });
  } catch {
    return undefined;
  }
}

/**
 * RFC 8291 decryption with the subscription's private key and auth secret: the keys come from the ECDH secret with
 * the sender's key in the header; RFC 8291 §4 allows one record only. Undefined for anything that does not decrypt.
 */
function decrypt(body: Buffer, subscription: Subscription): Buffer | undefined {
  if (body.length < HEADER_BYTES + TAG_BYTES + 1) return undefined;
  const salt = body.subarray(0, SALT_BYTES);
  const recordSize = body.readUInt32BE(SALT_BYTES);
  const idLength = body[SALT_BYTES + 4];
  if (idLength !== UNCOMPRESSED_P256_BYTES) return undefined;
  const senderKey = body.subarray(SALT_BYTES + 5, HEADER_BYTES);
  const record = body.subarray(HEADER_BYTES);
  if (recordSize < MIN_RECORD_SIZE || record.length > recordSize) return undefined;

  let sharedSecret: Buffer;
  try {
    sharedSecret = subscription.ecdh.computeSecret(senderKey);
  } catch {
    return undefined; // not a point on P-256
  }
  const keyInfo = Buffer.concat([WEBPUSH_INFO, subscription.publicKey, senderKey]);
  const ikm = hkdf(sharedSecret, subscription.authSecret, keyInfo, 32);
  const contentKey = hkdf(ikm, salt, CEK_INFO, 16);
  // The nonce is XORed with the record's sequence number, which is 0 for the only record.
  const nonce = hkdf(ikm, salt, NONCE_INFO, 12);

  const decipher = createDecipheriv("aes-128-gcm", contentKey, nonce);
  decipher.setAuthTag(record.subarray(record.length - TAG_BYTES));
  let padded: Buffer;
  try {
    padded = Buffer.concat([decipher.update(record.subarray(0, record.length - TAG_BYTES)), decipher.final()]);
  } catch {
    return undefined; // the tag does not match: other keys, or a damaged message
  }
  return withoutPadding(padded);
}

/** RFC 8188 §2: the content, then a delimiter (2 for the last record), then any number of zero bytes. */
function withoutPadding(padded: Buffer): Buffer | undefined {
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (end < 0 || padded[end] !== LAST_RECORD_DELIMITER) return undefined;
  return padded.subarray(0, end);
}

function hkdf(ikm: Buffer, salt: Buffer, info: Buffer, length: number): Buffer {
  return Buffer.from(hkdfSync("sha256", ikm, salt, info, length));
}

function refuse(status: number, message: string): Refused {
  return { accepted: false, reply: errorReply(status, message) };
}

/** A 401 names the authentication scheme the push service expects (RFC 9110 §11.6.1). */
function unauthorized(): Refused {
  const reply = errorReply(401, "Missing or malformed VAPID Authorization header.");
  reply.headers = { ...reply.headers, "www-authenticate": "vapid" };
  return { accepted: false, reply };
}

/** A short JSON error shaped like autopush's: {code, error, message}. */
function errorReply(status: number, message = STATUS_CODES[status] ?? "Error", retryAfter?: number): Reply {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (retryAfter !== undefined) headers["retry-after"] = String(retryAfter);
  const body = JSON.stringify({ code: status, error: STATUS_CODES[status] ?? "Error", message });
  return { status, headers, body };
}

/** Node's base64url decoder skips characters outside the alphabet; a key or signature must not have any. */
function decodeBase64url(text: string): Buffer | undefined {
  return BASE64URL.test(text) ? Buffer.from(text, "base64url") : undefined;
}
