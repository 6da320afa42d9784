/**
 * A local fake of Firebase Cloud Messaging over real TLS, for tests, the demo and the benchmark: the HTTP v1 API
 * (HTTP/2 or HTTP/1.1, OAuth access tokens from the Google OAuth sandbox) and the legacy API (HTTP/1.1, API keys).
 * It checks requests the way FCM does, answers with FCM's statuses and Google's error bodies, and can be scripted per
 * registration token or given a random fault mix under load.
 */
import { listen } from "../core/listen.js";
import { randomBytes, randomInt } from "node:crypto";
import { EventEmitter } from "node:events";
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
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
import type { GoogleOAuthSandbox } from "./googleOAuth.js";
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

/** `errorCode` of the `google.firebase.fcm.v1.FcmError` detail. */
export type FcmErrorCode =
  | "UNSPECIFIED_ERROR"
  | "INVALID_ARGUMENT"
  | "UNREGISTERED"
  | "SENDER_ID_MISMATCH"
  | "QUOTA_EXCEEDED"
  | "UNAVAILABLE"
  | "INTERNAL"
  | "THIRD_PARTY_AUTH_ERROR";

/** The `error` of one result of a legacy answer. */
export type FcmLegacyError =
  | "MissingRegistration"
  | "InvalidRegistration"
  | "NotRegistered"
  | "InvalidPackageName"
  | "MismatchSenderId"
  | "InvalidParameters"
  | "MessageTooBig"
  | "InvalidDataKey"
  | "InvalidTtl"
  | "Unavailable"
  | "InternalServerError"
  | "DeviceMessageRateExceeded"
  | "TopicsMessageRateExceeded"
  | "InvalidApnsCredential";

/** A whole-request answer: for v1 the answer, for legacy the HTTP status of the whole batch (200: a success result). */
export interface FcmAnswer {
  /** e.g. 200, 400, 401, 403, 404, 429, 500, 503 */
  status: number;
  /** v1: fills Google's error body; by default the usual code of the status (404 UNREGISTERED, 429 QUOTA_EXCEEDED…). */
  errorCode?: FcmErrorCode;
  /** v1: the error's `message`; by default FCM's text for the code. */
  message?: string;
  /** Seconds, sent as Retry-After. */
  retryAfter?: number;
  /** Answer after this long. */
  delayMs?: number;
  /** Never answer this request. */
  hang?: boolean;
  /** Reset instead of answering: RST_STREAM (INTERNAL_ERROR) on HTTP/2, the connection destroyed on HTTP/1.1. */
  reset?: boolean;
  /** v1 (HTTP/2): refuse the stream (REFUSED_STREAM) and close the session with a GOAWAY. */
  goaway?: boolean;
}

/** A legacy per-result error (the batch still answers 200). A v1 request gets the matching v1 error. */
export interface FcmLegacyResultAnswer {
  legacyError: FcmLegacyError;
  delayMs?: number;
}

export type FcmScriptedAnswer = FcmAnswer | FcmLegacyResultAnswer;

/** For load tests; applied to requests that passed every check and have no scripted answer. errorRate → 503. */
export type FcmFaultMix = Omit<FaultMix, "goawayEvery">;

export interface ReceivedFcmMessage {
  api: "v1" | "legacy";
  /** v1 only. */
  projectId: string | undefined;
  /** The registration token; undefined for v1 topic and condition messages. */
  token: string | undefined;
  /** v1: the parsed `message` object; legacy: the whole parsed body. */
  message: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  receivedAt: number;
}

export interface FcmSandboxOptions {
  ca: SandboxCa;
  /** Issues and judges the v1 access tokens. */
  oauth: GoogleOAuthSandbox;
  /** Default "127.0.0.1". */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Advertised SETTINGS_MAX_CONCURRENT_STREAMS on HTTP/2, default 1000. */
  maxConcurrentStreams?: number;
  /** Server keys accepted by the legacy API; none by default (every legacy request then gets 401). */
  legacyApiKeys?: string[];
  /** Clock in ms, for `receivedAt`. */
  now?: () => number;
}

/** FCM's text for a registration token it cannot parse; clients tell a dead token from other 400s by it. */
export const FCM_INVALID_TOKEN_MESSAGE = "The registration token is not a valid FCM registration token";

const FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError";
const BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest";
const V1_PATH = /^\/v1\/projects\/([^/]+)\/messages:send$/;
const LEGACY_PATH = "/fcm/send";
const BEARER = /^bearer\s+(\S+)$/i;
const LEGACY_KEY = /^key=(\S+)$/i;
/** FCM caps a message's data (keys and values) at 4096 bytes. */
const MAX_DATA_BYTES = 4096;
const MAX_LEGACY_REGISTRATION_IDS = 1000;
const MAX_BODY_BYTES = 256 * 1024;
const MIN_TOKEN_LENGTH = 8;

/** Proto3 JSON takes a field's original name and its lowerCamelCase form. */
const BODY_FIELDS = new Set(["message", "validate_only", "validateOnly"]);
const MESSAGE_FIELDS = new Set([
  "name",
  "data",
  "notification",
  "android",
  "webpush",
  "apns",
  "fcm_options",
  "fcmOptions",
  "token",
  "topic",
  "condition",
]);
const TARGETS = ["token", "topic", "condition"] as const;
const ANDROID_PRIORITIES = new Set(["normal", "high"]);

const CANONICAL_STATUS: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  409: "ABORTED",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  501: "UNIMPLEMENTED",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};
const ERROR_CODE_OF_STATUS: Record<number, FcmErrorCode> = {
  400: "INVALID_ARGUMENT",
  401: "THIRD_PARTY_AUTH_ERROR",
  403: "SENDER_ID_MISMATCH",
  404: "UNREGISTERED",
  429: "QUOTA_EXCEEDED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
};
const ERROR_MESSAGES: Record<FcmErrorCode, string> = {
  UNSPECIFIED_ERROR: "Unknown error.",
  INVALID_ARGUMENT: "Request contains an invalid argument.",
  UNREGISTERED: "Requested entity was not found.",
  SENDER_ID_MISMATCH: "SenderId mismatch",
  QUOTA_EXCEEDED: "Quota exceeded for quota metric 'Send requests' of service 'fcm.googleapis.com'.",
  UNAVAILABLE: "The service is currently unavailable.",
  INTERNAL: "Internal error encountered.",
  THIRD_PARTY_AUTH_ERROR: "Auth error from APNS or Web Push Service",
};
/** What a v1 request gets when its token is scripted with a legacy per-result error. */
const V1_ANSWER_OF_LEGACY_ERROR: Partial<Record<FcmLegacyError, FcmAnswer>> = {
  NotRegistered: { status: 404, errorCode: "UNREGISTERED" },
  InvalidRegistration: { status: 400, errorCode: "INVALID_ARGUMENT", message: FCM_INVALID_TOKEN_MESSAGE },
  MismatchSenderId: { status: 403, errorCode: "SENDER_ID_MISMATCH" },
  Unavailable: { status: 503, errorCode: "UNAVAILABLE" },
  InternalServerError: { status: 500, errorCode: "INTERNAL" },
  DeviceMessageRateExceeded: { status: 429, errorCode: "QUOTA_EXCEEDED" },
};
const AUTH_HELP =
  "Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.";

/** What a request does besides its answer. */
type Timing = Pick<FcmAnswer, "delayMs" | "hang" | "reset" | "goaway">;

type V1Check =
  | {
      accepted: true;
      message: Record<string, unknown>;
      target: string;
      token: string | undefined;
      validateOnly: boolean;
    }
  | { accepted: false; reply: Reply };

type LegacyTargets = { ok: true; tokens: string[] } | { ok: false; reply: Reply };

interface FieldViolation {
  field?: string;
  description: string;
}

export class FcmSandbox extends EventEmitter<{ push: [ReceivedFcmMessage] }> {
  readonly url: string;
  /** Every message accepted with success, in order; a legacy batch gives one record per registration id. */
  readonly received: ReceivedFcmMessage[] = [];
  /** Settable at any time. */
  faults: FcmFaultMix = {};

  private requestCount = 0;
  private peakStreams = 0;
  private connectionCount = 0;
  /** Open requests per connection (an HTTP/2 session or an HTTP/1.1 socket). */
  private readonly openRequests = new Map<object, number>();
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly scripts = new Scripts<FcmScriptedAnswer>();
  private readonly oauth: GoogleOAuthSandbox;
  private readonly legacyApiKeys: Set<string>;
  private readonly now: () => number;

  private constructor(
    private readonly server: Http2SecureServer,
    port: number,
    options: FcmSandboxOptions,
  ) {
    super();
    this.url = `https://localhost:${port}`;
    this.oauth = options.oauth;
    this.legacyApiKeys = new Set(options.legacyApiKeys ?? []);
    this.now = options.now ?? Date.now;
    server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
    server.on("secureConnection", () => this.connectionCount++);
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

  static async start(options: FcmSandboxOptions): Promise<FcmSandbox> {
    const certificate = await options.ca.issueServerCertificate(["localhost", "127.0.0.1", "::1"]);
    const server = http2.createSecureServer({
      key: certificate.keyPem,
      cert: certificate.certPem,
      // FCM v1 clients speak HTTP/2 or HTTP/1.1; the legacy API is HTTP/1.1.
      allowHTTP1: true,
      settings: { maxConcurrentStreams: options.maxConcurrentStreams ?? 1000 },
    });
    await listen(server, options.port ?? 0, options.host ?? "127.0.0.1");
    return new FcmSandbox(server, (server.address() as AddressInfo).port, options);
  }

  /** Every request seen, any answer. */
  get requests(): number {
    return this.requestCount;
  }

  /** The most requests that were open at once on one connection. */
  get peakConcurrentStreams(): number {
    return this.peakStreams;
  }

  /** TLS connections accepted (HTTP/2 sessions and HTTP/1.1 connections). */
  get sessionsOpened(): number {
    return this.connectionCount;
  }

  /** Answers for that registration token (or topic, or condition), used in order; the last one repeats. */
  script(target: string, ...answers: FcmScriptedAnswer[]): void {
    this.scripts.set(target, answers);
  }

  clearScripts(): void {
    this.scripts.clear();
  }

  /** Forgets received messages, counters, scripts and faults. */
  reset(): void {
    this.received.length = 0;
    this.requestCount = 0;
    this.peakStreams = 0;
    this.connectionCount = 0;
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
    const connection =
      request instanceof Http2ServerRequest ? (request.stream.session ?? request.stream) : request.socket;
    this.trackOpen(connection, response);
    readBody(request, MAX_BODY_BYTES, (body) => this.handle(exchange, body));
  }

  private trackOpen(connection: object, response: Http2ServerResponse | ServerResponse): void {
    const open = (this.openRequests.get(connection) ?? 0) + 1;
    this.openRequests.set(connection, open);
    this.peakStreams = Math.max(this.peakStreams, open);
    response.once("close", () => {
      const left = (this.openRequests.get(connection) ?? 1) - 1;
      if (left === 0) this.openRequests.delete(connection);
      else this.openRequests.set(connection, left);
    });
  }

  private handle(exchange: Exchange, body: Buffer | undefined): void {
    const projectId = V1_PATH.exec(exchange.path)?.[1];
    const known = projectId !== undefined || exchange.path === LEGACY_PATH;
    if (!known) return exchange.reply(textReply(404, "Not Found"));
    if (exchange.method !== "POST") return exchange.reply(textReply(405, "Method Not Allowed"));
    if (projectId !== undefined) this.handleV1(exchange, projectId, body);
    else this.handleLegacy(exchange, body);
  }

  // ---- HTTP v1 ----

  private handleV1(exchange: Exchange, projectId: string, body: Buffer | undefined): void {
    const refusal = this.authenticateV1(exchange.headers, projectId);
    if (refusal !== undefined) return exchange.reply(refusal);
    if (body === undefined) return exchange.reply(htmlError(413));
    const check = checkV1Body(body.toString("utf8"));
    if (!check.accepted) return exchange.reply(check.reply);
    if (check.validateOnly) {
      // validate_only: FCM checks the message and answers with a fake name, sending nothing.
      return exchange.reply(jsonReply(200, { name: `projects/${projectId}/messages/fake_message_id` }));
    }

    const scripted = this.scripts.next(check.target);
    const answer = scripted === undefined ? this.faultAnswer() : v1AnswerOf(scripted);
    this.perform(exchange, answer, () => {
      if (answer.status !== 200) return v1ErrorReply(answer);
      this.record({ api: "v1", projectId, token: check.token, message: check.message, headers: exchange.headers });
      return jsonReply(200, { name: `projects/${projectId}/messages/${messageId(this.now())}` });
    });
  }

  /** Google's order: a usable access token first, then its right to send for this project. */
  private authenticateV1(headers: IncomingHttpHeaders, projectId: string): Reply | undefined {
    const accessToken = BEARER.exec(header(headers, "authorization") ?? "")?.[1];
    if (accessToken === undefined) {
      return unauthenticated(`Request is missing required authentication credential. ${AUTH_HELP}`);
    }
    const grant = this.oauth.isValid(accessToken);
    if (grant === undefined) return unauthenticated(`Request had invalid authentication credentials. ${AUTH_HELP}`);
    if (grant.projectId !== projectId) {
      const permission = "cloudmessaging.messages.create";
      const resource = `projects/${projectId}`;
      return googleError(
        403,
        `Permission '${permission}' denied on resource '//cloudresourcemanager.googleapis.com/${resource}' (or it may not exist).`,
        [
          {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            reason: "IAM_PERMISSION_DENIED",
            domain: "cloudresourcemanager.googleapis.com",
            metadata: { permission, resource },
          },
        ],
      );
    }
    return undefined;
  }

  // ---- legacy ----

  private handleLegacy(exchange: Exchange, body: Buffer | undefined): void {
    const apiKey = LEGACY_KEY.exec(header(exchange.headers, "authorization") ?? "")?.[1];
    if (apiKey === undefined || !this.legacyApiKeys.has(apiKey)) return exchange.reply(htmlError(401));
    if (body === undefined) return exchange.reply(htmlError(413));
    const parsed = parseJson(body.toString("utf8"));
    if (!isObject(parsed)) {
      return exchange.reply(textReply(400, "JSON_PARSING_ERROR: Unexpected character at position 0.\n"));
    }
    const targets = legacyTargets(parsed);
    if (!targets.ok) return exchange.reply(targets.reply);
    if (targets.tokens.length === 0) return exchange.reply(legacyResults([{ error: "MissingRegistration" }]));

    // One fault draw for the whole request, shared by the tokens that have no script.
    let fault: FcmAnswer | undefined;
    const answers = targets.tokens.map((token): FcmScriptedAnswer => {
      if (!plausibleToken(token)) return { legacyError: "InvalidRegistration" };
      return this.scripts.next(token) ?? (fault ??= this.faultAnswer());
    });
    const failure = answers.find((answer): answer is FcmAnswer => "status" in answer && answer.status !== 200);
    this.perform(exchange, combinedTiming(answers), () => {
      if (failure !== undefined) return htmlError(failure.status, failure.retryAfter);
      const results = targets.tokens.map((token, index) => {
        const answer = answers[index];
        if (answer !== undefined && "legacyError" in answer) return { error: answer.legacyError };
        this.record({ api: "legacy", projectId: undefined, token, message: parsed, headers: exchange.headers });
        return { message_id: messageId(this.now()) };
      });
      return legacyResults(results);
    });
  }

  // ---- shared ----

  private faultAnswer(): FcmAnswer {
    const { latencyMs, errorRate = 0, resetRate = 0, hangRate = 0 } = this.faults;
    const delayMs = pickLatency(latencyMs);
    // One draw split into bands, so that the rates add up instead of shadowing each other.
    const draw = Math.random();
    if (draw < hangRate) return { status: 200, delayMs, hang: true };
    if (draw < hangRate + resetRate) return { status: 200, delayMs, reset: true };
    if (draw < hangRate + resetRate + errorRate) return { status: 503, errorCode: "UNAVAILABLE", delayMs };
    return { status: 200, delayMs };
  }

  /** Waits, hangs or resets as the timing says; otherwise answers with what `answer()` makes at that moment. */
  private perform(exchange: Exchange, timing: Timing, answer: () => Reply): void {
    const act = () => {
      if (timing.hang) return;
      if (timing.reset) exchange.reset();
      else if (timing.goaway) exchange.goaway();
      else exchange.reply(answer());
    };
    if (timing.delayMs !== undefined && timing.delayMs > 0) this.later(act, timing.delayMs);
    else act();
  }

  private record(message: Omit<ReceivedFcmMessage, "receivedAt">): void {
    const received: ReceivedFcmMessage = { ...message, receivedAt: this.now() };
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
 * FCM parses the body as a proto first (unknown names and wrong types are reported together, as field violations),
 * then checks what the message means: a target, a plausible token, the size of its data.
 */
function checkV1Body(text: string): V1Check {
  const body = parseJson(text);
  if (!isObject(body)) {
    return {
      accepted: false,
      reply: badRequest([{ description: "Invalid JSON payload received. Unexpected token." }]),
    };
  }
  const violations = [
    ...unknownNames(body, BODY_FIELDS, ""),
    ...(body["message"] === undefined ? [] : messageViolations(body["message"])),
  ];
  if (violations.length > 0) return { accepted: false, reply: badRequest(violations) };

  const message = body["message"];
  const targets = isObject(message) ? TARGETS.filter((name) => message[name] !== undefined) : [];
  if (!isObject(message) || targets.length === 0)
    return { accepted: false, reply: fcmErrorReply(400, "INVALID_ARGUMENT") };
  const token = typeof message["token"] === "string" ? message["token"] : undefined;
  if (token !== undefined && !plausibleToken(token)) {
    return { accepted: false, reply: fcmErrorReply(400, "INVALID_ARGUMENT", FCM_INVALID_TOKEN_MESSAGE) };
  }
  if (isObject(message["data"]) && dataBytes(message["data"]) > MAX_DATA_BYTES) {
    return { accepted: false, reply: fcmErrorReply(400, "INVALID_ARGUMENT", "Android message is too big") };
  }
  const validateOnly = body["validate_only"] === true || body["validateOnly"] === true;
  const target = String(message[targets[0] ?? "token"]);
  return { accepted: true, message, target, token, validateOnly };
}

/** What the proto parser says about a `message`: unknown names, values of the wrong type, two targets. */
function messageViolations(message: unknown): FieldViolation[] {
  if (!isObject(message)) {
    return [typeViolation("message", "type.googleapis.com/google.firebase.fcm.v1.Message", message)];
  }
  const violations = unknownNames(message, MESSAGE_FIELDS, "message");
  const targets = TARGETS.filter((name) => message[name] !== undefined);
  for (const name of targets) {
    if (typeof message[name] !== "string")
      violations.push(typeViolation(`message.${name}`, "TYPE_STRING", message[name]));
  }
  const second = targets[1];
  if (second !== undefined) {
    const description = `Invalid value at 'message' (oneof), oneof field 'target' is already set. Cannot set '${second}'`;
    violations.push({ field: "message", description });
  }
  violations.push(...dataViolations(message["data"]));
  violations.push(...androidViolations(message["android"]));
  return violations;
}

/** `data` is a map of strings: FCM refuses numbers, objects and the rest, naming the entry by its position. */
function dataViolations(data: unknown): FieldViolation[] {
  if (data === undefined) return [];
  if (!isObject(data)) {
    return [typeViolation("message.data", "type.googleapis.com/google.firebase.fcm.v1.Message.DataEntry", data)];
  }
  return Object.values(data).flatMap((value, index) =>
    typeof value === "string" ? [] : [typeViolation(`message.data[${index}].value`, "TYPE_STRING", value)],
  );
}

/** Only `android.priority` is checked: it is the enum clients (Sygnal among them) set. */
function androidViolations(android: unknown): FieldViolation[] {
  if (!isObject(android) || android["priority"] === undefined) return [];
  const priority = android["priority"];
  if (typeof priority === "string" && ANDROID_PRIORITIES.has(priority.toLowerCase())) return [];
  return [
    typeViolation(
      "message.android.priority",
      "type.googleapis.com/google.firebase.fcm.v1.AndroidMessagePriority",
      priority,
    ),
  ];
}

function unknownNames(object: Record<string, unknown>, known: Set<string>, at: string): FieldViolation[] {
  const where = at === "" ? "" : ` at '${at}'`;
  return Object.keys(object)
    .filter((name) => !known.has(name))
    .map((name) => ({
      description: `Invalid JSON payload received. Unknown name "${name}"${where}: Cannot find field.`,
    }));
}

/** Google's wording for a value of the wrong JSON type. */
function typeViolation(field: string, type: string, value: unknown): FieldViolation {
  let shown: string;
  if (Array.isArray(value)) shown = "Proto field is not repeating, cannot start list.";
  else if (isObject(value)) shown = "Starting an object on a scalar field";
  else shown = JSON.stringify(value) ?? "null";
  return { field, description: `Invalid value at '${field}' (${type}), ${shown}` };
}

function dataBytes(data: Record<string, unknown>): number {
  let bytes = 0;
  for (const [key, value] of Object.entries(data)) bytes += Buffer.byteLength(key) + Buffer.byteLength(String(value));
  return bytes;
}

/** The registration ids of a legacy body: `to` or `registration_ids`, never both. */
function legacyTargets(body: Record<string, unknown>): LegacyTargets {
  const to = body["to"];
  const ids = body["registration_ids"];
  if (to !== undefined && ids !== undefined) {
    return { ok: false, reply: textReply(400, 'Must use either "registration_ids" field or "to", not both\n') };
  }
  if (ids !== undefined) {
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === "string")) {
      return {
        ok: false,
        reply: textReply(400, `Field "registration_ids" must be a JSON array: ${JSON.stringify(ids)}\n`),
      };
    }
    if (ids.length > MAX_LEGACY_REGISTRATION_IDS) {
      const text = `Number of messages on bulk (${ids.length}) exceeds maximum allowed (${MAX_LEGACY_REGISTRATION_IDS})\n`;
      return { ok: false, reply: textReply(400, text) };
    }
    return { ok: true, tokens: ids };
  }
  if (to === undefined) return { ok: true, tokens: [] };
  if (typeof to !== "string")
    return { ok: false, reply: textReply(400, `Field "to" must be a JSON string: ${JSON.stringify(to)}\n`) };
  return { ok: true, tokens: [to] };
}

/** A batch waits for its slowest answer, and hangs or resets if any of its tokens does. */
function combinedTiming(answers: FcmScriptedAnswer[]): Timing {
  const delays = answers.map((answer) => answer.delayMs ?? 0);
  const isWhole = (answer: FcmScriptedAnswer): answer is FcmAnswer => "status" in answer;
  return {
    delayMs: Math.max(0, ...delays),
    hang: answers.some((answer) => isWhole(answer) && answer.hang === true),
    reset: answers.some((answer) => isWhole(answer) && answer.reset === true),
  };
}

function legacyResults(results: Array<{ message_id: string } | { error: string }>): Reply {
  const failure = results.filter((result) => "error" in result).length;
  return jsonReply(200, {
    multicast_id: randomInt(2 ** 47),
    success: results.length - failure,
    failure,
    canonical_ids: 0,
    results,
  });
}

function v1AnswerOf(scripted: FcmScriptedAnswer): FcmAnswer {
  if ("status" in scripted) return scripted;
  const mapped = V1_ANSWER_OF_LEGACY_ERROR[scripted.legacyError] ?? { status: 400, errorCode: "INVALID_ARGUMENT" };
  return { ...mapped, delayMs: scripted.delayMs };
}

function v1ErrorReply(answer: FcmAnswer): Reply {
  const errorCode = answer.errorCode ?? ERROR_CODE_OF_STATUS[answer.status] ?? "UNSPECIFIED_ERROR";
  const reply = fcmErrorReply(answer.status, errorCode, answer.message);
  if (answer.retryAfter !== undefined) reply.headers = { ...reply.headers, "retry-after": String(answer.retryAfter) };
  return reply;
}

/** An error with FCM's own detail; the invalid-token error also names the field, as FCM does. */
function fcmErrorReply(status: number, errorCode: FcmErrorCode, message = ERROR_MESSAGES[errorCode]): Reply {
  const details: object[] = [{ "@type": FCM_ERROR_TYPE, errorCode }];
  if (message === FCM_INVALID_TOKEN_MESSAGE) {
    details.push({
      "@type": BAD_REQUEST_TYPE,
      fieldViolations: [{ field: "message.token", description: "Invalid registration token" }],
    });
  }
  return googleError(status, message, details);
}

function badRequest(violations: FieldViolation[]): Reply {
  const message = violations.map((violation) => violation.description).join("\n");
  return googleError(400, message, [{ "@type": BAD_REQUEST_TYPE, fieldViolations: violations }]);
}

function unauthenticated(message: string): Reply {
  const reply = googleError(401, message);
  reply.headers = { ...reply.headers, "www-authenticate": 'Bearer realm="https://accounts.google.com/"' };
  return reply;
}

/** Google's error body: {"error": {code, message, status, details?}}. */
function googleError(status: number, message: string, details: object[] = []): Reply {
  const error = {
    code: status,
    message,
    status: CANONICAL_STATUS[status] ?? "UNKNOWN",
    ...(details.length > 0 && { details }),
  };
  return jsonReply(status, { error });
}

function jsonReply(status: number, value: unknown): Reply {
  return { status, headers: { "content-type": "application/json; charset=UTF-8" }, body: JSON.stringify(value) };
}

function textReply(status: number, text: string): Reply {
  return { status, headers: { "content-type": "text/plain; charset=UTF-8" }, body: text };
}

/** The legacy API answers whole-request failures with Google's HTML error page. */
function htmlError(status: number, retryAfter?: number): Reply {
  const title = STATUS_CODES[status] ?? "Error";
  const body = `<HTML>\n<HEAD>\n<TITLE>${title}</TITLE>\n</HEAD>\n<BODY BGCOLOR="#FFFFFF" TEXT="#000000">\n<H1>${title}</H1>\n<H2>Error ${status}</H2>\n</BODY>\n</HTML>\n`;
  const headers: Record<string, string> = { "content-type": "text/html; charset=UTF-8" };
  if (retryAfter !== undefined) headers["retry-after"] = String(retryAfter);
  return { status, headers, body };
}

/** Real tokens are long and have no spaces; anything else is not worth FCM's time. */
function plausibleToken(token: string): boolean {
  return token.length >= MIN_TOKEN_LENGTH && !/\s/.test(token);
}

/** Shaped like FCM's message ids: "0:<microseconds>%<16 hex digits>". */
function messageId(nowMs: number): string {
  return `0:${nowMs * 1000 + randomInt(1000)}%${randomBytes(8).toString("hex")}`;
}
