/**
 * A local fake of the Threema Gateway API (msgapi.threema.ch) in end-to-end mode, on HTTPS/1.1, for tests, the demo
 * and the benchmark. It hands out gateway accounts (an ID, its API secret, a key pair and a credit balance) and
 * Threema users with key pairs, checks each `/send_e2e` form as Threema does, and then does what only the user's phone
 * could: decrypts the box with the user's secret key and the account's public key, and records the plaintext. It can
 * be scripted per recipient or given a random fault mix under load.
 */
import { randomBytes, randomInt } from "node:crypto";
import { EventEmitter } from "node:events";
import { STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import nacl from "tweetnacl";
import type { FaultMix } from "./apns.js";
import type { SandboxCa } from "./ca.js";
import {
  drawFault,
  header,
  listenHttps,
  parseJson,
  readBody,
  Scripts,
  Timers,
  toExchange,
  type Exchange,
  type Reply,
} from "./wire.js";

/** A gateway ID in end-to-end mode, as gateway.threema.ch sets it up; the key pair is made by its owner. */
export interface ThreemaGatewayAccount {
  /** `*` and seven characters. */
  identity: string;
  secret: string;
  publicKey: Uint8Array;
  secretKey: Uint8Array;
  /** The private key as push-relay (and Herald) read it from a file: `private:<64 hex>\n`. */
  privateKeyFile: string;
}

/** A Threema user, whose phone holds the secret key. */
export interface ThreemaSandboxRecipient {
  identity: string;
  publicKeyHex: string;
  secretKey: Uint8Array;
}

/** A scripted answer to a message that passed every check. */
export interface ThreemaGatewayAnswer {
  /** Default 200. */
  status?: number;
  /** Seconds, sent as Retry-After. */
  retryAfter?: number;
  /** Answer after this long. */
  delayMs?: number;
  /** Never answer this request. */
  hang?: boolean;
  /** Destroy the connection instead of answering. */
  reset?: boolean;
}

/** For load tests; applied to messages that passed every check and have no scripted answer. errorRate → HTTP 500. */
export type ThreemaGatewayFaultMix = Omit<FaultMix, "goawayEvery">;

export interface ReceivedThreemaMessage {
  from: string;
  to: string;
  messageId: string;
  /** The first plaintext byte: 0xFE for a push. */
  type: number;
  /** The bytes between the type byte and the padding, parsed as JSON; undefined when they are not JSON. */
  json: unknown;
  /** The PKCS#7-style padding at the end of the plaintext. */
  padding: Buffer;
  plaintext: Buffer;
  /** The form's fields, except the secret. */
  fields: Record<string, string>;
  headers: IncomingHttpHeaders;
  receivedAt: number;
}

export interface ThreemaGatewaySandboxOptions {
  ca: SandboxCa;
  /** Default "127.0.0.1". */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
}

export const SEND_E2E_PATH = "/send_e2e";
/** Threema's limit on an end-to-end box, in bytes. */
export const MAX_BOX_BYTES = 7812;
const REQUIRED_FIELDS = ["from", "to", "nonce", "box", "secret"] as const;
const NONCE_HEX = /^[0-9a-fA-F]{48}$/;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const ID_CHARACTERS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
/** Room for the largest box in hex and the other fields. */
const MAX_BODY_BYTES = 32 * 1024;

interface Account extends ThreemaGatewayAccount {
  credits: number;
}

type Check =
  | { ok: true; account: Account; to: string; plaintext: Buffer; fields: Record<string, string> }
  | { ok: false; reply: Reply };

export class ThreemaGatewaySandbox extends EventEmitter<{ push: [ReceivedThreemaMessage] }> {
  /** The API's base URL: messages go to `${url}/send_e2e`. */
  readonly url: string;
  /** Every message delivered, in order. */
  readonly received: ReceivedThreemaMessage[] = [];
  /** The nonce (hex) of every box that decrypted, in order, whatever it was answered. */
  readonly nonces: string[] = [];
  /** Settable at any time. */
  faults: ThreemaGatewayFaultMix = {};

  private requestCount = 0;
  private undecryptableCount = 0;
  private readonly accounts = new Map<string, Account>();
  private readonly recipients = new Map<string, ThreemaSandboxRecipient>();
  private readonly scripts = new Scripts<ThreemaGatewayAnswer>();
  private readonly timers = new Timers();

  private constructor(
    private readonly server: https.Server,
    port: number,
  ) {
    super();
    this.url = `https://localhost:${port}`;
    server.on("request", (request: IncomingMessage, response: ServerResponse) => this.onRequest(request, response));
  }

  /** HTTP/1.1 only, as msgapi.threema.ch is spoken to by push-relay and Threema's SDKs. */
  static async start(options: ThreemaGatewaySandboxOptions): Promise<ThreemaGatewaySandbox> {
    const { server, port } = await listenHttps(options);
    return new ThreemaGatewaySandbox(server, port);
  }

  /** Requests seen, any answer. */
  get requests(): number {
    return this.requestCount;
  }

  /** Boxes that passed every other check but did not decrypt (or held no padded message) for their recipient. */
  get undecryptable(): number {
    return this.undecryptableCount;
  }

  /** A new gateway ID with a random secret, a fresh key pair and `credits` (default a million). */
  createAccount(options: { identity?: string; credits?: number } = {}): ThreemaGatewayAccount {
    const keys = nacl.box.keyPair();
    const account: Account = {
      identity: options.identity ?? `*${randomId(7)}`,
      secret: randomBytes(8).toString("hex"),
      publicKey: keys.publicKey,
      secretKey: keys.secretKey,
      privateKeyFile: `private:${Buffer.from(keys.secretKey).toString("hex")}\n`,
      credits: options.credits ?? 1_000_000,
    };
    this.accounts.set(account.identity, account);
    const { credits: _credits, ...shown } = account;
    return shown;
  }

  /** What the account has left; each delivered message costs one credit. */
  credits(identity: string): number {
    return this.accounts.get(identity)?.credits ?? 0;
  }

  setCredits(identity: string, credits: number): void {
    const account = this.accounts.get(identity);
    if (account === undefined) throw new Error(`no sandbox Threema Gateway account ${identity}`);
    account.credits = credits;
  }

  /** A new Threema user with a fresh key pair, or the one of `secretKey` (a test that must know the key beforehand). */
  createRecipient(identity: string = randomId(8), secretKey?: Uint8Array): ThreemaSandboxRecipient {
    const keys = secretKey ? nacl.box.keyPair.fromSecretKey(secretKey) : nacl.box.keyPair();
    const recipient = {
      identity,
      publicKeyHex: Buffer.from(keys.publicKey).toString("hex"),
      secretKey: keys.secretKey,
    };
    this.recipients.set(identity, recipient);
    return recipient;
  }

  /** Answers for messages to that Threema ID, used in order; the last one repeats. */
  script(identity: string, ...answers: ThreemaGatewayAnswer[]): void {
    this.scripts.set(identity, answers);
  }

  clearScripts(): void {
    this.scripts.clear();
  }

  /** Forgets received messages, nonces, counters, scripts and faults; accounts, their credits and recipients stay. */
  reset(): void {
    this.received.length = 0;
    this.nonces.length = 0;
    this.requestCount = 0;
    this.undecryptableCount = 0;
    this.scripts.clear();
    this.faults = {};
  }

  /** Closes every connection and the server, without waiting for hung or delayed requests. */
  async close(): Promise<void> {
    this.timers.cancelAll();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onRequest(request: IncomingMessage, response: ServerResponse): void {
    this.requestCount++;
    const exchange = toExchange(request, response);
    readBody(request, MAX_BODY_BYTES, (body) => {
      const check = this.check(exchange, body);
      if (!check.ok) return exchange.reply(check.reply);
      const answer = this.scripts.next(check.to) ?? this.faultAnswer();
      const act = () => {
        if (answer.hang === true) return;
        if (answer.reset === true) return exchange.reset();
        exchange.reply(this.settle(answer, check, exchange.headers));
      };
      if (answer.delayMs !== undefined && answer.delayMs > 0) this.timers.later(act, answer.delayMs);
      else act();
    });
  }

  /** Threema's checks, in order: the form, the account, its credits, the recipient, the box; then the phone's. */
  private check(exchange: Exchange, body: Buffer | undefined): Check {
    const refuse = (status: number, text?: string): Check => ({ ok: false, reply: textReply(status, text) });
    if (exchange.path !== SEND_E2E_PATH) return refuse(404);
    if (exchange.method !== "POST") return refuse(405);
    if (body === undefined) return refuse(413);
    const contentType = header(exchange.headers, "content-type")?.toLowerCase() ?? "";
    if (!contentType.startsWith("application/x-www-form-urlencoded")) return refuse(400, "Invalid content type");
    const form = new URLSearchParams(body.toString("utf8"));
    if (REQUIRED_FIELDS.some((field) => !form.get(field))) return refuse(400, "Missing parameters");
    const [from = "", to = "", nonceHex = "", boxHex = "", secret = ""] = REQUIRED_FIELDS.map(
      (field) => form.get(field) ?? "",
    );
    const account = this.accounts.get(from);
    if (account === undefined || account.secret !== secret) return refuse(401);
    if (account.credits <= 0) return refuse(402);
    const recipient = this.recipients.get(to);
    if (recipient === undefined) return refuse(400, "Invalid recipient");
    if (!NONCE_HEX.test(nonceHex) || !HEX.test(boxHex)) return refuse(400, "Invalid nonce or box");
    const box = Buffer.from(boxHex, "hex");
    if (box.length > MAX_BOX_BYTES) return refuse(413);

    const plaintext = nacl.box.open(box, Buffer.from(nonceHex, "hex"), account.publicKey, recipient.secretKey);
    if (plaintext === null || !hasPadding(plaintext)) {
      this.undecryptableCount++;
      return refuse(400, "The recipient cannot decrypt this box");
    }
    this.nonces.push(nonceHex.toLowerCase());
    const fields = Object.fromEntries([...form.entries()].filter(([name]) => name !== "secret"));
    return { ok: true, account, to: to, plaintext: Buffer.from(plaintext), fields };
  }

  /** The reply to a checked message; a 200 costs a credit and delivers it. */
  private settle(
    answer: ThreemaGatewayAnswer,
    check: Extract<Check, { ok: true }>,
    headers: IncomingHttpHeaders,
  ): Reply {
    const status = answer.status ?? 200;
    let reply = textReply(status);
    if (status === 200) {
      check.account.credits--;
      const messageId = randomBytes(8).toString("hex");
      this.record(check, messageId, headers);
      reply = { ...reply, body: messageId };
    }
    if (answer.retryAfter !== undefined) reply.headers = { ...reply.headers, "retry-after": String(answer.retryAfter) };
    return reply;
  }

  private record(check: Extract<Check, { ok: true }>, messageId: string, headers: IncomingHttpHeaders): void {
    const { plaintext } = check;
    const paddingBytes = plaintext[plaintext.length - 1]!;
    const received: ReceivedThreemaMessage = {
      from: check.account.identity,
      to: check.to,
      messageId,
      type: plaintext[0]!,
      json: parseJson(plaintext.subarray(1, plaintext.length - paddingBytes).toString("utf8")),
      padding: plaintext.subarray(plaintext.length - paddingBytes),
      plaintext,
      fields: check.fields,
      headers,
      receivedAt: Date.now(),
    };
    this.received.push(received);
    this.emit("push", received);
  }

  private faultAnswer(): ThreemaGatewayAnswer {
    const { delayMs, fault } = drawFault(this.faults);
    return { delayMs, hang: fault === "hang", reset: fault === "reset", status: fault === "error" ? 500 : undefined };
  }
}

/**
 * A type byte, then at least one byte of PKCS#7-style padding: the last byte says how many padding bytes there are
 * (1 to 255), and each of them holds that number. The phone drops a message without it.
 */
function hasPadding(plaintext: Uint8Array): boolean {
  const count = plaintext[plaintext.length - 1] ?? 0;
  if (count === 0 || count > plaintext.length - 1) return false;
  return plaintext.subarray(plaintext.length - count).every((byte) => byte === count);
}

function randomId(length: number): string {
  return Array.from({ length }, () => ID_CHARACTERS[randomInt(ID_CHARACTERS.length)]).join("");
}

function textReply(status: number, text = STATUS_CODES[status] ?? "Error"): Reply {
  return { status, headers: { "content-type": "text/plain;charset=UTF-8" }, body: text };
}
