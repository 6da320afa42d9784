/**
 * A local fake of Apple's push service (APNs) over real HTTP/2 + TLS, for tests, the demo and the benchmark.
 * It checks requests the way Apple does (path, auth by JWT or client certificate, headers, token, payload), answers
 * with Apple's statuses and reasons, and can be scripted per device token or given a random fault mix under load.
 */
import { listen } from "../core/listen.js";
import { createPublicKey, randomUUID, verify, type KeyObject } from "node:crypto";
import { EventEmitter } from "node:events";
import http2, {
  type Http2SecureServer,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { SandboxCa } from "./ca.js";
import { header, ignore, parseJsonObject, pickLatency, readBody, Scripts } from "./wire.js";

/** A .p8 key's public half. */
export interface ApnsKey {
  keyId: string;
  teamId: string;
  publicKeyPem: string;
}

export interface ApnsAnswer {
  /** e.g. 200, 400, 403, 410, 429, 500, 503 */
  status: number;
  /** Apple's reason, sent as {"reason": ...}; for 410 a "timestamp" (ms) is added. */
  reason?: string;
  /** Seconds, sent as Retry-After. */
  retryAfter?: number;
  /** Answer after this long. */
  delayMs?: number;
  /** Never answer this stream. */
  hang?: boolean;
  /** RST_STREAM (INTERNAL_ERROR) instead of answering. */
  reset?: boolean;
  /** GOAWAY on this session, refusing this stream (lastStreamId excludes it), then close the session. */
  goaway?: boolean;
}

/** For load tests; applied to requests that passed every check and have no scripted answer. */
export interface FaultMix {
  latencyMs?: number | [min: number, max: number];
  /** 0..1: answer 500 InternalServerError. */
  errorRate?: number;
  /** 0..1: RST_STREAM. */
  resetRate?: number;
  /** 0..1: never answer. */
  hangRate?: number;
  /** GOAWAY after every N requests on a session (the Nth is refused). N = 1 refuses every first request. */
  goawayEvery?: number;
}

export type PushAuth = { kind: "token"; keyId: string; teamId: string } | { kind: "certificate"; uid: string };

export interface ReceivedPush {
  token: string;
  topic: string | undefined;
  priority: string | undefined;
  pushType: string | undefined;
  apnsId: string | undefined;
  expiration: string | undefined;
  collapseId: string | undefined;
  auth: PushAuth;
  /** The parsed JSON body. */
  payload: unknown;
  /** The raw body. */
  body: string;
  receivedAt: number;
}

export interface ApnsSandboxOptions {
  ca: SandboxCa;
  /** Default "127.0.0.1". */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Accepted token-auth keys. */
  keys?: ApnsKey[];
  /** If given, token-auth topics outside it → 400 TopicDisallowed. */
  topics?: string[];
  /** Advertised SETTINGS_MAX_CONCURRENT_STREAMS, default 1000. */
  maxConcurrentStreams?: number;
  /** Clock in ms, for JWT age checks (tests move it). */
  now?: () => number;
}

const MINUTE_MS = 60 * 1000;
const JWT_MAX_AGE_MS = 60 * MINUTE_MS;
const TOKEN_UPDATE_MIN_INTERVAL_MS = 20 * MINUTE_MS;
const MAX_PAYLOAD_BYTES = 4096;
/** Apple allows VoIP pushes a larger payload. */
const MAX_VOIP_PAYLOAD_BYTES = 5120;
/** Bounds the memory of the JWT verdict cache; a working gateway uses a handful of JWTs an hour. */
const MAX_CACHED_JWTS = 10_000;

const DEVICE_PATH = /^\/3\/device\/([^/?]+)(?:\?.*)?$/;
const HEX = /^[0-9a-fA-F]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BEARER = /^bearer\s+(\S+)$/i;
const PRIORITIES = new Set(["1", "5", "10"]);
const PUSH_TYPES = new Set([
  "alert",
  "background",
  "location",
  "voip",
  "complication",
  "fileprovider",
  "mdm",
  "liveactivity",
  "pushtotalk",
]);
/** Reasons for scripted answers that give a status but no reason, so that every error has a JSON body. */
const DEFAULT_REASONS: Record<number, string> = {
  410: "Unregistered",
  413: "PayloadTooLarge",
  429: "TooManyRequests",
  500: "InternalServerError",
  503: "ServiceUnavailable",
};
/** Apple puts a JSON reason in a GOAWAY's debug data; clients may log it. */
const GOAWAY_DEBUG_DATA = Buffer.from(JSON.stringify({ reason: "Shutdown" }));

type SessionAuth = { kind: "certificate"; uid: string } | { kind: "untrusted-certificate" } | { kind: "none" };

interface SessionState {
  readonly auth: SessionAuth;
  readonly openStreams: Set<ServerHttp2Stream>;
  streamsSeen: number;
  /** Set once this sandbox sent a GOAWAY on the session: streams above it were not processed. */
  goawayLastStreamId: number | undefined;
  /** The JWT in use on this connection: its `iat`, and when (sandbox clock) it came into use. */
  currentJwt?: { issuedAtMs: number; since: number };
}

interface Refusal {
  status: number;
  reason: string;
}

type CheckResult = { accepted: true; push: Omit<ReceivedPush, "receivedAt"> } | ({ accepted: false } & Refusal);

type JwtVerdict = { valid: true; keyId: string; teamId: string; issuedAtMs: number } | { valid: false };

interface KnownKey {
  teamId: string;
  publicKey: KeyObject;
}

export class ApnsSandbox extends EventEmitter<{ push: [ReceivedPush] }> {
  readonly url: string;
  /** Every request that got 200, in order. */
  readonly received: ReceivedPush[] = [];
  /** Settable at any time. */
  faults: FaultMix = {};

  private requestCount = 0;
  private peakStreams = 0;
  private sessionCount = 0;
  private readonly sessions = new Map<ServerHttp2Session, SessionState>();
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly scripts = new Scripts<ApnsAnswer>();
  private readonly keys: Map<string, KnownKey>;
  private readonly topics: Set<string> | undefined;
  private readonly now: () => number;
  private readonly jwtVerdicts = new Map<string, JwtVerdict>();

  private constructor(
    private readonly server: Http2SecureServer,
    port: number,
    options: ApnsSandboxOptions,
  ) {
    super();
    this.url = `https://localhost:${port}`;
    this.keys = new Map(
      (options.keys ?? []).map((key) => [
        key.keyId,
        { teamId: key.teamId, publicKey: createPublicKey(key.publicKeyPem) },
      ]),
    );
    this.topics = options.topics ? new Set(options.topics) : undefined;
    this.now = options.now ?? Date.now;
    server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
    server.on("session", (session) => this.onSession(session));
  }

  static async start(options: ApnsSandboxOptions): Promise<ApnsSandbox> {
    const serverCertificate = await options.ca.issueServerCertificate(["localhost", "127.0.0.1", "::1"]);
    const server = http2.createSecureServer({
      key: serverCertificate.keyPem,
      cert: serverCertificate.certPem,
      ca: [options.ca.certPem],
      // Like Apple: a client certificate is optional (token auth needs none); when one is presented, its trust is
      // judged per request so that an untrusted one gets Apple's 403 BadCertificate instead of a failed handshake.
      requestCert: true,
      rejectUnauthorized: false,
      allowHTTP1: false,
      settings: { maxConcurrentStreams: options.maxConcurrentStreams ?? 1000 },
    });
    await listen(server, options.port ?? 0, options.host ?? "127.0.0.1");
    return new ApnsSandbox(server, (server.address() as AddressInfo).port, options);
  }

  /** Every request seen, any answer. */
  get requests(): number {
    return this.requestCount;
  }

  /** The most streams that were open at once on one session. */
  get peakConcurrentStreams(): number {
    return this.peakStreams;
  }

  get sessionsOpened(): number {
    return this.sessionCount;
  }

  /** Connections open now (closed ones, after a GOAWAY for instance, are not counted). */
  get sessionsOpen(): number {
    return this.sessions.size;
  }

  /** Answers for that token, used in order; the last one repeats. */
  script(token: string, ...answers: ApnsAnswer[]): void {
    this.scripts.set(token.toLowerCase(), answers);
  }

  clearScripts(): void {
    this.scripts.clear();
  }

  /** Forgets received pushes, counters, scripts and faults. */
  reset(): void {
    this.received.length = 0;
    this.requestCount = 0;
    this.peakStreams = 0;
    this.sessionCount = 0;
    this.scripts.clear();
    this.faults = {};
  }

  /** GOAWAY (NO_ERROR) on every open session; streams already open still get their answers. */
  goawayAll(): void {
    for (const session of this.sessions.keys()) session.close();
  }

  /** Closes every session and the server, without waiting for hung or delayed streams. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const session of this.sessions.keys()) session.destroy();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onSession(session: ServerHttp2Session): void {
    this.sessionCount++;
    const state: SessionState = {
      auth: peerAuth(session.socket as TLSSocket),
      openStreams: new Set(),
      streamsSeen: 0,
      goawayLastStreamId: undefined,
    };
    this.sessions.set(session, state);
    session.once("close", () => this.sessions.delete(session));
    // Clients that vanish mid-stream are normal here; they must not crash the process hosting the sandbox.
    session.on("error", ignore);
    session.on("stream", (stream, headers) => this.onStream(session, state, stream, headers));
  }

  private onStream(
    session: ServerHttp2Session,
    state: SessionState,
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
  ): void {
    this.requestCount++;
    const indexInSession = ++state.streamsSeen;
    stream.on("error", ignore);
    // A stream that arrives after this sandbox's GOAWAY is refused by that GOAWAY; touching it would race nghttp2.
    if (state.goawayLastStreamId !== undefined && streamId(stream) > state.goawayLastStreamId) return;
    state.openStreams.add(stream);
    this.peakStreams = Math.max(this.peakStreams, state.openStreams.size);
    stream.once("close", () => {
      state.openStreams.delete(stream);
      // Closing waits until the GOAWAY's streams are done: by then that GOAWAY has been sent. Closing at once would
      // queue Node's own GOAWAY, whose higher last stream id the client takes for a protocol error.
      if (state.goawayLastStreamId !== undefined && state.openStreams.size === 0) session.close();
    });
    readBody(stream, MAX_VOIP_PAYLOAD_BYTES, (body) => {
      const responseId = header(headers, "apns-id") ?? randomUUID();
      const result = this.check(headers, body, state);
      if (!result.accepted) {
        this.respond(stream, responseId, result);
        return;
      }
      const answer = this.scripts.next(result.push.token.toLowerCase()) ?? this.faultAnswer(state, indexInSession);
      this.perform(answer, { session, state, stream, responseId, push: result.push });
    });
  }

  /** Apple's checks, in Apple's order: path, method, authentication, headers, device token, payload. */
  private check(headers: IncomingHttpHeaders, body: Buffer | undefined, session: SessionState): CheckResult {
    const token = DEVICE_PATH.exec(header(headers, ":path") ?? "")?.[1];
    if (token === undefined) return refuse(404, "BadPath");
    if (header(headers, ":method") !== "POST") return refuse(405, "MethodNotAllowed");

    const topic = header(headers, "apns-topic");
    const auth = this.authenticate(headers, topic, session);
    if ("status" in auth) return { accepted: false, ...auth };

    const priority = header(headers, "apns-priority");
    if (priority !== undefined && !PRIORITIES.has(priority)) return refuse(400, "BadPriority");
    const pushType = header(headers, "apns-push-type");
    if (pushType !== undefined && !PUSH_TYPES.has(pushType)) return refuse(400, "InvalidPushType");
    const apnsId = header(headers, "apns-id");
    if (apnsId !== undefined && !UUID.test(apnsId)) return refuse(400, "BadMessageId");

    if (!HEX.test(token)) return refuse(400, "BadDeviceToken");

    const maxBytes = pushType === "voip" ? MAX_VOIP_PAYLOAD_BYTES : MAX_PAYLOAD_BYTES;
    if (body !== undefined && body.length === 0) return refuse(400, "PayloadEmpty");
    if (body === undefined || body.length > maxBytes) return refuse(413, "PayloadTooLarge");
    const text = body.toString("utf8");
    const payload = parseJsonObject(text);
    if (payload === undefined) return refuse(400, "BadPayload");

    const expiration = header(headers, "apns-expiration");
    const collapseId = header(headers, "apns-collapse-id");
    return {
      accepted: true,
      push: { token, topic, priority, pushType, apnsId, expiration, collapseId, auth, payload, body: text },
    };
  }

  private authenticate(
    headers: IncomingHttpHeaders,
    topic: string | undefined,
    session: SessionState,
  ): PushAuth | Refusal {
    const sessionAuth = session.auth;
    if (sessionAuth.kind === "untrusted-certificate") return { status: 403, reason: "BadCertificate" };
    if (sessionAuth.kind === "certificate") {
      if (topic !== undefined && topic !== sessionAuth.uid) return { status: 400, reason: "TopicDisallowed" };
      return { kind: "certificate", uid: sessionAuth.uid };
    }

    const jwt = BEARER.exec(header(headers, "authorization") ?? "")?.[1];
    if (jwt === undefined) return { status: 403, reason: "MissingProviderToken" };
    const verdict = this.jwtVerdict(jwt);
    if (!verdict.valid) return { status: 403, reason: "InvalidProviderToken" };
    const now = this.now();
    if (now - verdict.issuedAtMs > JWT_MAX_AGE_MS) return { status: 403, reason: "ExpiredProviderToken" };
    if (!acceptJwtUpdate(session, verdict.issuedAtMs, now)) {
      return { status: 429, reason: "TooManyProviderTokenUpdates" };
    }
    if (topic === undefined) return { status: 400, reason: "MissingTopic" };
    if (this.topics && !this.topics.has(topic)) return { status: 400, reason: "TopicDisallowed" };
    return { kind: "token", keyId: verdict.keyId, teamId: verdict.teamId };
  }

  /** Verifying a signature costs far more than the rest of a request, and a gateway reuses one JWT for minutes. */
  private jwtVerdict(jwt: string): JwtVerdict {
    let verdict = this.jwtVerdicts.get(jwt);
    if (verdict === undefined) {
      verdict = verifyJwt(jwt, this.keys);
      if (this.jwtVerdicts.size >= MAX_CACHED_JWTS) this.jwtVerdicts.clear();
      this.jwtVerdicts.set(jwt, verdict);
    }
    return verdict;
  }

  private faultAnswer(state: SessionState, indexInSession: number): ApnsAnswer {
    const { latencyMs, errorRate = 0, resetRate = 0, hangRate = 0, goawayEvery } = this.faults;
    const delayMs = pickLatency(latencyMs);
    if (goawayEvery !== undefined && goawayEvery > 0 && indexInSession >= goawayEvery) {
      if (state.goawayLastStreamId === undefined) return { status: 200, delayMs, goaway: true };
    }
    // One draw split into bands, so that the rates add up instead of shadowing each other.
    const draw = Math.random();
    if (draw < hangRate) return { status: 200, delayMs, hang: true };
    if (draw < hangRate + resetRate) return { status: 200, delayMs, reset: true };
    if (draw < hangRate + resetRate + errorRate) return { status: 500, reason: "InternalServerError", delayMs };
    return { status: 200, delayMs };
  }

  private perform(answer: ApnsAnswer, request: PendingRequest): void {
    const act = () => {
      const { stream } = request;
      if (stream.closed || stream.destroyed || answer.hang) return;
      if (answer.reset) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      else if (answer.goaway) this.goawayRefusing(request);
      else {
        if (answer.status === 200) this.record(request.push);
        this.respond(stream, request.responseId, answer);
      }
    };
    if (answer.delayMs !== undefined && answer.delayMs > 0) this.later(act, answer.delayMs);
    else act();
  }

  /**
   * GOAWAY whose last stream id excludes this stream, so that the client knows it was not processed. Answers already
   * queued on the session stay within the last stream id: a GOAWAY that disowned them would race their frames on the
   * client and make a recorded push look lost.
   */
  private goawayRefusing({ session, state, stream }: PendingRequest): void {
    if (state.goawayLastStreamId !== undefined) {
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    // Client streams have odd ids, so id - 2 is the client's previous stream. Node turns 0 into "the last stream
    // processed", which could include this one; the REFUSED_STREAM below tells the client the truth either way.
    let lastStreamId = Math.max(streamId(stream) - 2, 0);
    for (const open of state.openStreams) {
      if (open.headersSent) lastStreamId = Math.max(lastStreamId, streamId(open));
    }
    state.goawayLastStreamId = lastStreamId;
    // Refused before the GOAWAY, not after: nghttp2 silently drops the streams above the last stream id once the
    // GOAWAY is sent, and resetting such a stream afterwards can corrupt Node 20's heap under load.
    stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    for (const open of state.openStreams) {
      if (streamId(open) > lastStreamId) open.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    }
    // Graceful: streams up to the last stream id still get their answers; the session closes after them.
    session.goaway(http2.constants.NGHTTP2_NO_ERROR, lastStreamId, GOAWAY_DEBUG_DATA);
  }

  private record(push: Omit<ReceivedPush, "receivedAt">): void {
    const received: ReceivedPush = { ...push, receivedAt: this.now() };
    this.received.push(received);
    this.emit("push", received);
  }

  private respond(
    stream: ServerHttp2Stream,
    responseId: string,
    answer: Pick<ApnsAnswer, "status" | "reason" | "retryAfter">,
  ): void {
    if (stream.closed || stream.destroyed) return;
    const headers: OutgoingHttpHeaders = { ":status": answer.status, "apns-id": responseId };
    if (answer.retryAfter !== undefined) headers["retry-after"] = String(answer.retryAfter);
    const reason = answer.reason ?? DEFAULT_REASONS[answer.status];
    if (answer.status === 200 || reason === undefined) {
      stream.respond(headers, { endStream: true });
      return;
    }
    const body = JSON.stringify(answer.status === 410 ? { reason, timestamp: this.now() } : { reason });
    headers["content-type"] = "application/json";
    stream.respond(headers);
    stream.end(body);
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

interface PendingRequest {
  session: ServerHttp2Session;
  state: SessionState;
  stream: ServerHttp2Stream;
  responseId: string;
  push: Omit<ReceivedPush, "receivedAt">;
}

function refuse(status: number, reason: string): CheckResult {
  return { accepted: false, status, reason };
}

/** Node types a stream's id as possibly unset, which it is only before a client's stream is sent. */
function streamId(stream: ServerHttp2Stream): number {
  return stream.id ?? 0;
}

/** Who the TLS client certificate says the client is, judged once per connection. */
function peerAuth(socket: TLSSocket): SessionAuth {
  const certificate = socket.getPeerCertificate();
  if (certificate === null || Object.keys(certificate).length === 0) return { kind: "none" };
  // Node's Certificate type names only the common subject fields; OpenSSL reports the others (UID) too.
  const subject = certificate.subject as unknown as Record<string, string | string[] | undefined>;
  const uid = subject["UID"];
  if (!socket.authorized || typeof uid !== "string") return { kind: "untrusted-certificate" };
  return { kind: "certificate", uid };
}

/** An ES256 JWT signed by a known key with its team as issuer; the age of `iat` is checked per request. */
function verifyJwt(jwt: string, keys: Map<string, KnownKey>): JwtVerdict {
  const invalid: JwtVerdict = { valid: false };
  const [encodedHeader, encodedClaims, encodedSignature, ...extra] = jwt.split(".");
  if (encodedHeader === undefined || encodedClaims === undefined || encodedSignature === undefined) return invalid;
  if (extra.length > 0) return invalid;
  const jwtHeader = parseJsonObject(Buffer.from(encodedHeader, "base64url").toString("utf8"));
  const claims = parseJsonObject(Buffer.from(encodedClaims, "base64url").toString("utf8"));
  if (jwtHeader === undefined || claims === undefined) return invalid;
  const keyId = jwtHeader["kid"];
  const key = typeof keyId === "string" ? keys.get(keyId) : undefined;
  if (jwtHeader["alg"] !== "ES256" || typeof keyId !== "string" || key === undefined) return invalid;
  const issuedAt = claims["iat"];
  if (claims["iss"] !== key.teamId || typeof issuedAt !== "number" || !Number.isFinite(issuedAt)) return invalid;
  const signed = Buffer.from(`${encodedHeader}.${encodedClaims}`);
  const signature = Buffer.from(encodedSignature, "base64url");
  if (!verifySignature(signed, key.publicKey, signature)) return invalid;
  return { valid: true, keyId, teamId: key.teamId, issuedAtMs: issuedAt * 1000 };
}

function verifySignature(signed: Buffer, publicKey: KeyObject, signature: Buffer): boolean {
  try {
    return verify("sha256", signed, { key: publicKey, dsaEncoding: "ieee-p1363" }, signature);
  } catch {
    // A signature of the wrong length or encoding is as invalid as a wrong one.
    return false;
  }
}

/**
 * Apple refuses a connection's new JWT (a different `iat`) less than 20 minutes after the previous one came into use
 * on that connection. (Per connection: gateways run several processes, each signing its own JWT with the same key.)
 */
function acceptJwtUpdate(session: SessionState, issuedAtMs: number, now: number): boolean {
  const current = session.currentJwt;
  if (current?.issuedAtMs === issuedAtMs) return true;
  if (current !== undefined && now - current.since < TOKEN_UPDATE_MIN_INTERVAL_MS) return false;
  session.currentJwt = { issuedAtMs, since: now };
  return true;
}
