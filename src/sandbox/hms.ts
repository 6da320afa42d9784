/**
 * A local fake of Huawei Push Kit (push-api.cloud.huawei.com) and of the OAuth endpoint that feeds it
 * (oauth-login.cloud.huawei.com), on one HTTPS/1.1 server, for tests, the demo and the benchmark. It hands out app
 * credentials and access tokens bound to their app, checks messages the way Push Kit does, answers with Huawei's
 * HTTP statuses and business codes, and can be scripted per registration token or given a random fault mix under load.
 */
import { listen } from "../core/listen.js";
import { randomBytes, randomInt } from "node:crypto";
import { EventEmitter } from "node:events";
import { STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { FaultMix } from "./apns.js";
import type { SandboxCa } from "./ca.js";
import { ignore, isObject, parseJson, pickLatency, readBody, Scripts } from "./wire.js";

/** An app's OAuth 2.0 client, as AppGallery Connect shows it. */
export interface HmsApp {
  appId: string;
  clientId: string;
  clientSecret: string;
}

/** A whole-request answer. */
export interface HmsAnswer {
  /** Business code in the body, e.g. "80000000", "80300007", "80100000", "80200003", "80300008". */
  code?: string;
  /** The body's msg; for 80100000 a JSON text such as {"success":0,"failure":1,"illegal_tokens":["<token>"]}. */
  msg?: string;
  /** Default 200: Huawei answers most business errors with 200, and traffic control with 503. */
  httpStatus?: number;
  /** Seconds, sent as Retry-After. */
  retryAfter?: number;
  /** Answer after this long. */
  delayMs?: number;
  /** Never answer this request. */
  hang?: boolean;
  /** Destroy the connection instead of answering. */
  reset?: boolean;
}

/** For load tests; applied to pushes that passed every check and have no scripted answer. errorRate → HTTP 503. */
export type HmsFaultMix = Omit<FaultMix, "goawayEvery">;

export interface ReceivedHmsMessage {
  /** From the path. */
  appId: string;
  /** One registration token of the message; a message to several tokens gives one record each. */
  token: string;
  /** The parsed `message` object. */
  message: Record<string, unknown>;
  /** JSON.parse(message.data), or the string itself when it is not JSON. */
  data: unknown;
  headers: IncomingHttpHeaders;
  receivedAt: number;
}

export interface HmsSandboxOptions {
  ca: SandboxCa;
  /** Default "127.0.0.1". */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Clock in ms, for token expiry and `receivedAt` (tests move it). */
  now?: () => number;
  /** `expires_in` of the access tokens; default 3600. */
  tokenLifetimeSeconds?: number;
}

/** Huawei's business codes, as the strings its bodies carry. */
export const HMS_CODE = {
  success: "80000000",
  partialSuccess: "80100000",
  invalidParameters: "80100001",
  illegalStructure: "80100003",
  invalidTtl: "80100004",
  authenticationError: "80200001",
  tokenExpired: "80200003",
  forbidden: "80300002",
  invalidTokens: "80300007",
  messageTooLarge: "80300008",
  tokenCount: "80300010",
  internalError: "81000001",
} as const;

/** The msg Push Kit sends with each code. */
const MESSAGES: Record<string, string> = {
  [HMS_CODE.success]: "Success",
  [HMS_CODE.invalidParameters]: "Illegal parameters",
  [HMS_CODE.illegalStructure]: "Illegal message structure",
  [HMS_CODE.invalidTtl]: "TTL invalid",
  [HMS_CODE.authenticationError]: "Oauth authentication error.",
  [HMS_CODE.tokenExpired]: "OAuth token expired.",
  [HMS_CODE.forbidden]: "APP is forbidden to send",
  [HMS_CODE.invalidTokens]: "All the tokens are invalid",
  [HMS_CODE.messageTooLarge]: "message too large",
  [HMS_CODE.tokenCount]: "the number of tokens must be between 1 and 1000",
  [HMS_CODE.internalError]: "System inner error",
};

/** The code a scripted answer gets when it gives only an HTTP status. */
const CODE_OF_STATUS: Record<number, string> = {
  200: HMS_CODE.success,
  400: HMS_CODE.invalidParameters,
  401: HMS_CODE.tokenExpired,
  403: HMS_CODE.forbidden,
};

export const HMS_TOKEN_PATH = "/oauth2/v3/token";
const PUSH_PATH = /^\/v1\/([^/]+)\/messages:send$/;
const BEARER = /^bearer\s+(\S+)$/i;
/** Huawei's ttl: whole seconds with up to nine decimals, then "s". */
const TTL = /^\d+(\.\d{1,9})?s$/;
const URGENCIES = new Set(["HIGH", "NORMAL"]);
const MAX_TOKENS = 1000;
/** Push Kit caps the serialised message at 4 KB. */
const MAX_MESSAGE_BYTES = 4096;
const MAX_BODY_BYTES = 64 * 1024;
const JSON_TYPE = "application/json;charset=UTF-8";

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

type PushCheck =
  | { ok: true; message: Record<string, unknown>; tokens: string[]; data: unknown; validateOnly: boolean }
  | { ok: false; code: string };

interface Grant {
  appId: string;
  expiresAt: number;
}

export class HmsSandbox extends EventEmitter<{ push: [ReceivedHmsMessage] }> {
  /** The push endpoint's base: pushes go to `${url}/v1/<app_id>/messages:send`. */
  readonly url: string;
  readonly tokenUrl: string;
  /** Every message accepted, one record per token, in order. */
  readonly received: ReceivedHmsMessage[] = [];
  /** Settable at any time. */
  faults: HmsFaultMix = {};

  private pushCount = 0;
  private grantCount = 0;
  private requestSequence = 0;
  private readonly apps = new Map<string, HmsApp>();
  private readonly grants = new Map<string, Grant>();
  private readonly tokenFailures: Reply[] = [];
  private readonly scripts = new Scripts<HmsAnswer>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly now: () => number;
  private readonly tokenLifetimeSeconds: number;

  private constructor(
    private readonly server: https.Server,
    port: number,
    options: HmsSandboxOptions,
  ) {
    super();
    this.url = `https://localhost:${port}`;
    this.tokenUrl = `${this.url}${HMS_TOKEN_PATH}`;
    this.now = options.now ?? Date.now;
    this.tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 3600;
    server.on("request", (request: IncomingMessage, response: ServerResponse) => this.onRequest(request, response));
  }

  static async start(options: HmsSandboxOptions): Promise<HmsSandbox> {
    const certificate = await options.ca.issueServerCertificate(["localhost", "127.0.0.1", "::1"]);
    // HTTP/1.1 only: it is what Huawei's clients (push-relay's reqwest, Huawei's own SDKs) speak to Push Kit.
    const server = https.createServer({ key: certificate.keyPem, cert: certificate.certPem });
    // Clients that vanish mid-request are normal here; they must not crash the process hosting the sandbox.
    server.on("clientError", (_error, socket) => socket.destroy());
    await listen(server, options.port ?? 0, options.host ?? "127.0.0.1");
    return new HmsSandbox(server, (server.address() as AddressInfo).port, options);
  }

  /** Push requests seen, any answer. */
  get requests(): number {
    return this.pushCount;
  }

  /** Access tokens handed out. */
  get tokensIssued(): number {
    return this.grantCount;
  }

  /** A new app with a random secret. Its client id is its app id, as Huawei's docs say both are today. */
  createApp(appId: string = randomAppId()): HmsApp {
    const app = { appId, clientId: appId, clientSecret: randomBytes(32).toString("hex") };
    this.apps.set(app.clientId, app);
    return app;
  }

  /** Every access token handed out so far stops working, as if expired: pushes with them get 80200003. */
  expireTokens(): void {
    for (const grant of this.grants.values()) grant.expiresAt = -Infinity;
  }

  /**
   * The next `count` token requests get this status instead of being checked. The default body is Huawei's OAuth
   * error for a 4xx, and plain text for a 5xx, as an overloaded edge answers. Calls queue up behind each other.
   */
  scriptTokenFailure(count: number, status: number, body?: Record<string, unknown>): void {
    const reply =
      body !== undefined
        ? jsonReply(status, body)
        : status >= 500
          ? textReply(status, STATUS_CODES[status] ?? "Error")
          : oauthError(status, "invalid client");
    for (let i = 0; i < count; i++) this.tokenFailures.push(reply);
  }

  /** Answers for that registration token, used in order; the last one repeats. */
  script(token: string, ...answers: HmsAnswer[]): void {
    this.scripts.set(token, answers);
  }

  clearScripts(): void {
    this.scripts.clear();
  }

  /** Forgets received messages, counters, scripts, scripted token failures and faults; apps and tokens stay. */
  reset(): void {
    this.received.length = 0;
    this.pushCount = 0;
    this.grantCount = 0;
    this.scripts.clear();
    this.tokenFailures.length = 0;
    this.faults = {};
  }

  /** Closes every connection and the server, without waiting for hung or delayed requests. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onRequest(request: IncomingMessage, response: ServerResponse): void {
    request.on("error", ignore);
    response.on("error", ignore);
    const path = (request.url ?? "").split("?")[0] ?? "";
    const appId = PUSH_PATH.exec(path)?.[1];
    if (appId !== undefined) this.pushCount++;
    const reply = (answer: Reply) => send(response, answer);
    if (appId === undefined && path !== HMS_TOKEN_PATH) return drain(request, () => reply(textReply(404, "Not Found")));
    if (request.method !== "POST") return drain(request, () => reply(textReply(405, "Method Not Allowed")));
    readBody(request, MAX_BODY_BYTES, (body) => {
      if (appId === undefined) reply(this.grant(request.headers, body));
      else this.push(request, response, appId, body);
    });
  }

  // ---- OAuth ----

  private grant(headers: IncomingHttpHeaders, body: Buffer | undefined): Reply {
    const scripted = this.tokenFailures.shift();
    if (scripted !== undefined) return scripted;
    // Huawei reads only a form; anything else has no parameters at all.
    const isForm = headers["content-type"]?.toLowerCase().startsWith("application/x-www-form-urlencoded") === true;
    const form = new URLSearchParams(isForm && body !== undefined ? body.toString("utf8") : "");
    const clientId = form.get("client_id");
    const clientSecret = form.get("client_secret");
    if (form.get("grant_type") !== "client_credentials" || !clientId || !clientSecret) {
      return oauthError(400, "parameter invalid", 20003);
    }
    const app = this.apps.get(clientId);
    if (app === undefined) return oauthError(400, "invalid client");
    if (app.clientSecret !== clientSecret) return oauthError(400, "invalid client_secret", 12304);
    return this.issue(app);
  }

  private issue(app: HmsApp): Reply {
    // Standard base64, as Huawei's tokens are: clients must send "+", "/" and "=" through unchanged.
    const accessToken = `DQEB${randomBytes(96).toString("base64")}`;
    this.grants.set(accessToken, { appId: app.appId, expiresAt: this.now() + this.tokenLifetimeSeconds * 1000 });
    this.grantCount++;
    const body = JSON.stringify({
      access_token: accessToken,
      expires_in: this.tokenLifetimeSeconds,
      token_type: "Bearer",
    });
    // Huawei escapes "/" in its JSON, which only a real JSON parser reads back correctly.
    return {
      status: 200,
      headers: { "content-type": JSON_TYPE, "cache-control": "no-store" },
      body: body.replaceAll("/", "\\/"),
    };
  }

  // ---- Push ----

  private push(request: IncomingMessage, response: ServerResponse, appId: string, body: Buffer | undefined): void {
    const requestId = this.requestId();
    const refusal = this.authenticate(request.headers, appId);
    if (refusal !== undefined) return send(response, pushReply(401, refusal, requestId));
    const check = body === undefined ? { ok: false as const, code: HMS_CODE.messageTooLarge } : checkPush(body);
    if (!check.ok) return send(response, pushReply(400, check.code, requestId));
    // validate_only: Push Kit checks the message and answers as for a send, delivering nothing.
    if (check.validateOnly) return send(response, pushReply(200, HMS_CODE.success, requestId));

    const scripted = this.scriptedAnswer(check.tokens);
    const answer = scripted?.answer ?? this.faultAnswer();
    const act = () => {
      if (answer.hang === true) return;
      if (answer.reset === true) return void request.socket.destroy();
      send(response, this.settle(answer, scripted?.token, appId, check, request.headers, requestId));
    };
    if (answer.delayMs !== undefined && answer.delayMs > 0) this.later(act, answer.delayMs);
    else act();
  }

  /**
   * Huawei's order: a token it knows, then one of this app, then one not expired. A token of another app is an
   * authentication error (80200001), not an expired one.
   */
  private authenticate(headers: IncomingHttpHeaders, appId: string): string | undefined {
    const accessToken = BEARER.exec(headers.authorization ?? "")?.[1];
    const grant = accessToken === undefined ? undefined : this.grants.get(accessToken);
    if (grant === undefined || grant.appId !== appId) return HMS_CODE.authenticationError;
    if (this.now() >= grant.expiresAt) return HMS_CODE.tokenExpired;
    return undefined;
  }

  /** The reply to a checked push, recording what it delivers: every token, or those not listed as illegal. */
  private settle(
    answer: HmsAnswer,
    scriptedToken: string | undefined,
    appId: string,
    check: Extract<PushCheck, { ok: true }>,
    headers: IncomingHttpHeaders,
    requestId: string,
  ): Reply {
    const status = answer.httpStatus ?? 200;
    const code = answer.code ?? CODE_OF_STATUS[status] ?? HMS_CODE.internalError;
    let msg = answer.msg;
    let delivered: string[] = [];
    if (status === 200 && code === HMS_CODE.success) delivered = check.tokens;
    if (status === 200 && code === HMS_CODE.partialSuccess) {
      msg ??= partialMsg(check.tokens, [scriptedToken ?? check.tokens[0] ?? ""]);
      const illegal = illegalTokensOf(msg);
      delivered = check.tokens.filter((token) => !illegal.has(token));
    }
    for (const token of delivered) this.record(appId, token, check, headers);
    const reply = pushReply(status, code, requestId, msg);
    if (answer.retryAfter !== undefined) reply.headers = { ...reply.headers, "retry-after": String(answer.retryAfter) };
    return reply;
  }

  /** The first token of the message that has a script decides the answer for the whole message. */
  private scriptedAnswer(tokens: string[]): { answer: HmsAnswer; token: string } | undefined {
    for (const token of tokens) {
      const answer = this.scripts.next(token);
      if (answer !== undefined) return { answer, token };
    }
    return undefined;
  }

  private faultAnswer(): HmsAnswer {
    const { latencyMs, errorRate = 0, resetRate = 0, hangRate = 0 } = this.faults;
    const delayMs = pickLatency(latencyMs);
    // One draw split into bands, so that the rates add up instead of shadowing each other.
    const draw = Math.random();
    if (draw < hangRate) return { delayMs, hang: true };
    if (draw < hangRate + resetRate) return { delayMs, reset: true };
    if (draw < hangRate + resetRate + errorRate) return { httpStatus: 503, code: HMS_CODE.internalError, delayMs };
    return { delayMs };
  }

  private record(
    appId: string,
    token: string,
    check: Extract<PushCheck, { ok: true }>,
    headers: IncomingHttpHeaders,
  ): void {
    const received = { appId, token, message: check.message, data: check.data, headers, receivedAt: this.now() };
    this.received.push(received);
    this.emit("push", received);
  }

  /** Shaped like Huawei's: milliseconds, then digits that tell requests of the same millisecond apart. */
  private requestId(): string {
    this.requestSequence = (this.requestSequence + 1) % 1e11;
    return `${this.now()}${String(this.requestSequence).padStart(11, "0")}`;
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

/** Push Kit's checks, in its order: structure, data, tokens, android options, size. */
function checkPush(body: Buffer): PushCheck {
  const parsed = parseJson(body.toString("utf8"));
  const message = isObject(parsed) ? parsed["message"] : undefined;
  if (!isObject(parsed) || !isObject(message)) return { ok: false, code: HMS_CODE.illegalStructure };
  const validateOnly = parsed["validate_only"];
  if (validateOnly !== undefined && typeof validateOnly !== "boolean") {
    return { ok: false, code: HMS_CODE.invalidParameters };
  }

  const data = message["data"];
  const android = message["android"];
  if (android !== undefined && !isObject(android)) return { ok: false, code: HMS_CODE.illegalStructure };
  // A data message carries a string; a notification message may have no data at all.
  const hasNotification = message["notification"] !== undefined || android?.["notification"] !== undefined;
  if (typeof data !== "string" && (data !== undefined || !hasNotification)) {
    return { ok: false, code: HMS_CODE.illegalStructure };
  }

  // Only token messages: Herald never sends to topics or conditions.
  const tokens = message["token"];
  if (!Array.isArray(tokens)) return { ok: false, code: HMS_CODE.invalidParameters };
  if (tokens.length === 0 || tokens.length > MAX_TOKENS) return { ok: false, code: HMS_CODE.tokenCount };
  if (!tokens.every((token): token is string => typeof token === "string" && token !== "")) {
    return { ok: false, code: HMS_CODE.invalidParameters };
  }

  const code = androidRefusal(android);
  if (code !== undefined) return { ok: false, code };
  if (Buffer.byteLength(JSON.stringify(message)) > MAX_MESSAGE_BYTES) {
    return { ok: false, code: HMS_CODE.messageTooLarge };
  }
  return { ok: true, message, tokens, data: parseData(data), validateOnly: validateOnly === true };
}

/** Clients put JSON in `data`, but Push Kit takes any string. */
function parseData(data: string | undefined): unknown {
  if (data === undefined) return undefined;
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return data;
  }
}

/** Only the options clients set: urgency and ttl. */
function androidRefusal(android: Record<string, unknown> | undefined): string | undefined {
  if (android === undefined) return undefined;
  const urgency = android["urgency"];
  if (urgency !== undefined && (typeof urgency !== "string" || !URGENCIES.has(urgency))) {
    return HMS_CODE.invalidParameters;
  }
  const ttl = android["ttl"];
  if (ttl !== undefined && (typeof ttl !== "string" || !TTL.test(ttl))) return HMS_CODE.invalidTtl;
  return undefined;
}

/** The msg of a partial success: counts and the tokens that failed. */
function partialMsg(tokens: string[], illegal: string[]): string {
  return JSON.stringify({ success: tokens.length - illegal.length, failure: illegal.length, illegal_tokens: illegal });
}

function illegalTokensOf(msg: string): Set<string> {
  const parsed = parseJson(msg);
  const illegal = isObject(parsed) ? parsed["illegal_tokens"] : undefined;
  return new Set(Array.isArray(illegal) ? illegal.filter((token): token is string => typeof token === "string") : []);
}

function pushReply(status: number, code: string, requestId: string, msg = MESSAGES[code] ?? "Unknown code"): Reply {
  return jsonReply(status, { code, msg, requestId });
}

/** Huawei's OAuth error: a numeric error, its description, and a sub_error where Huawei sends one. */
function oauthError(status: number, description: string, subError?: number): Reply {
  return jsonReply(status, {
    error: 1101,
    error_description: description,
    ...(subError !== undefined && { sub_error: subError }),
  });
}

function jsonReply(status: number, value: unknown): Reply {
  return { status, headers: { "content-type": JSON_TYPE }, body: JSON.stringify(value) };
}

function textReply(status: number, text: string): Reply {
  return { status, headers: { "content-type": "text/plain;charset=UTF-8" }, body: text };
}

/** Answers unless the client has already gone (reset, or left). */
function send(response: ServerResponse, { status, headers = {}, body }: Reply): void {
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, headers);
  response.end(body);
}

/** Reads and drops the body, so that the connection stays usable for the next request. */
function drain(request: IncomingMessage, onEnd: () => void): void {
  request.resume();
  request.once("end", onEnd);
}

/** Huawei's app ids are numbers of about nine digits, without a leading zero. */
function randomAppId(): string {
  return String(randomInt(100_000_000, 1_000_000_000));
}
