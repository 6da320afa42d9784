/**
 * A small fake of a WalletConnect push server's relay endpoint (`POST /clients/:id`), on HTTPS/1.1, for the tests of
 * the walletconnect pushkin: it checks each message's signature against the relay key it is given, with its own
 * reading of the scheme (ed25519 over `"{timestamp}.{body bytes}.{body}"`, hex), answering 401 when it does not
 * verify; records what it received; and answers as scripted per client id (by default 202 with an empty body, as the
 * original once the provider took the message).
 */
import { createPublicKey, verify, type KeyObject } from "node:crypto";
import { EventEmitter } from "node:events";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type https from "node:https";
import type { SandboxCa } from "./ca.js";
import { header, listenHttps, parseJsonObject, readBody, Scripts, Timers, toExchange, type Reply } from "./wire.js";

export interface PushServerAnswer {
  /** Default 202. */
  status?: number;
  /** JSON; absent: an empty body. */
  body?: unknown;
  /** Seconds, sent as Retry-After. */
  retryAfter?: number;
  delayMs?: number;
  /** Destroy the connection instead of answering. */
  reset?: boolean;
}

export interface ReceivedRelayMessage {
  clientId: string;
  body: Record<string, unknown> | undefined;
  headers: IncomingHttpHeaders;
}

const CLIENT_PATH = /^\/clients\/([^/]+)$/;
const MAX_BODY_BYTES = 1024 * 1024;

/** The body of WalletConnect's answer when the provider declared the token dead. */
export const CLIENT_DELETED_BODY = {
  status: "FAILURE",
  errors: [{ name: "client_deleted", message: "Request Accepted, client deleted due to invalid token" }],
  fields: [],
};

export class WalletConnectServerSandbox extends EventEmitter<{ push: [ReceivedRelayMessage] }> {
  readonly url: string;
  /** Every message whose signature verified, in order, whatever it was answered. */
  readonly received: ReceivedRelayMessage[] = [];
  private requestCount = 0;
  private readonly scripts = new Scripts<PushServerAnswer>();
  private readonly timers = new Timers();
  private readonly relayKey: KeyObject;

  private constructor(
    private readonly server: https.Server,
    port: number,
    relayPublicKeyHex: string,
  ) {
    super();
    const x = Buffer.from(relayPublicKeyHex, "hex").toString("base64url");
    this.relayKey = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" });
    this.url = `https://localhost:${port}`;
    server.on("request", (request: IncomingMessage, response: ServerResponse) => this.onRequest(request, response));
  }

  /** Accepts messages signed by the key whose public half is `relayPublicKeyHex` (64 hex digits). */
  static async start(options: { ca: SandboxCa; relayPublicKeyHex: string }): Promise<WalletConnectServerSandbox> {
    const { server, port } = await listenHttps({ ca: options.ca });
    return new WalletConnectServerSandbox(server, port, options.relayPublicKeyHex);
  }

  get requests(): number {
    return this.requestCount;
  }

  /** Answers for messages to that client id, used in order; the last one repeats. */
  script(clientId: string, ...answers: PushServerAnswer[]): void {
    this.scripts.set(clientId, answers);
  }

  reset(): void {
    this.received.length = 0;
    this.requestCount = 0;
    this.scripts.clear();
  }

  async close(): Promise<void> {
    this.timers.cancelAll();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onRequest(request: IncomingMessage, response: ServerResponse): void {
    this.requestCount++;
    const exchange = toExchange(request, response);
    readBody(request, MAX_BODY_BYTES, (body) => {
      const clientId = CLIENT_PATH.exec(exchange.path)?.[1];
      if (exchange.method !== "POST" || clientId === undefined || body === undefined) {
        return exchange.reply({ status: 404, body: "" });
      }
      if (!this.signedByRelay(request.headers, body)) {
        return exchange.reply(json(401, { status: "FAILURE", errors: [{ name: "webhook_validation_failed" }] }));
      }
      const received = {
        clientId: decodeURIComponent(clientId),
        body: parseJsonObject(body.toString("utf8")),
        headers: request.headers,
      };
      this.received.push(received);
      this.emit("push", received);
      const answer = this.scripts.next(received.clientId) ?? {};
      const act = () => {
        if (answer.reset === true) return exchange.reset();
        const reply =
          answer.body === undefined
            ? { status: answer.status ?? 202, body: "" }
            : json(answer.status ?? 202, answer.body);
        if (answer.retryAfter !== undefined)
          reply.headers = { ...reply.headers, "retry-after": String(answer.retryAfter) };
        exchange.reply(reply);
      };
      if (answer.delayMs !== undefined) this.timers.later(act, answer.delayMs);
      else act();
    });
  }

  private signedByRelay(headers: IncomingHttpHeaders, body: Buffer): boolean {
    const signature = header(headers, "x-ed25519-signature") ?? "";
    const timestamp = header(headers, "x-ed25519-timestamp") ?? "";
    if (!/^[0-9a-f]{128}$/i.test(signature) || !/^[0-9]+$/.test(timestamp)) return false;
    const signed = Buffer.concat([Buffer.from(`${timestamp}.${body.length}.`), body]);
    return verify(null, signed, this.relayKey, Buffer.from(signature, "hex"));
  }
}

function json(status: number, body: unknown): Reply {
  return { status, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}
