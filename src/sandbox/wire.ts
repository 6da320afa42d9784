/** Small pieces every sandbox provider uses to read requests and to fake slowness. */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import http2, { Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { Readable } from "node:stream";
import { listen } from "../core/listen.js";
import type { SandboxCa } from "./ca.js";

/** A header's value; a repeated header arrives joined or as an array, and is then checked as one odd value. */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  const text = Array.isArray(value) ? value.join(", ") : value;
  // Node hands over a header's bytes one character each; the providers read them as UTF-8.
  return text !== undefined && /[^\u0000-\u007f]/.test(text) ? Buffer.from(text, "latin1").toString("utf8") : text;
}

/** An HTTPS/1.1 server with a certificate of the sandbox CA for localhost, listening (by default on any free port). */
export async function listenHttps(options: {
  ca: SandboxCa;
  host?: string;
  port?: number;
}): Promise<{ server: https.Server; port: number }> {
  const certificate = await options.ca.issueServerCertificate(["localhost", "127.0.0.1", "::1"]);
  const server = https.createServer({ key: certificate.keyPem, cert: certificate.certPem });
  // Clients that vanish mid-request are normal here; they must not crash the process hosting the sandbox.
  server.on("clientError", (_error, socket) => socket.destroy());
  await listen(server, options.port ?? 0, options.host ?? "127.0.0.1");
  return { server, port: (server.address() as AddressInfo).port };
}

/** The whole body, or undefined once it grows past `limit` bytes (the rest is read and dropped). */
export function readBody(request: Readable, limit: number, onEnd: (body: Buffer | undefined) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  request.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  });
  request.once("end", () => onEnd(size <= limit ? Buffer.concat(chunks, size) : undefined));
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  const value = parseJson(text);
  return isObject(value) ? value : undefined;
}

/** A fault mix's latency: fixed, or drawn evenly from [min, max]. */
export function pickLatency(latencyMs: number | [min: number, max: number] | undefined): number | undefined {
  if (Array.isArray(latencyMs)) {
    const [min, max] = latencyMs;
    return min + Math.random() * (max - min);
  }
  return latencyMs;
}

/** What a fault mix does to one request: how long it waits, then whether it hangs, resets or fails. */
export interface FaultDraw {
  delayMs: number | undefined;
  fault: "hang" | "reset" | "error" | undefined;
}

/** One draw split into bands, so that the rates add up instead of shadowing each other. */
export function drawFault(faults: {
  latencyMs?: number | [min: number, max: number];
  errorRate?: number;
  resetRate?: number;
  hangRate?: number;
}): FaultDraw {
  const { latencyMs, errorRate = 0, resetRate = 0, hangRate = 0 } = faults;
  const delayMs = pickLatency(latencyMs);
  const draw = Math.random();
  if (draw < hangRate) return { delayMs, fault: "hang" };
  if (draw < hangRate + resetRate) return { delayMs, fault: "reset" };
  if (draw < hangRate + resetRate + errorRate) return { delayMs, fault: "error" };
  return { delayMs, fault: undefined };
}

/** Delayed answers that a sandbox's close() cancels, so that they neither outlive it nor keep Node running. */
export class Timers {
  private readonly pending = new Set<NodeJS.Timeout>();

  later(action: () => void, delayMs: number): void {
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      action();
    }, delayMs);
    this.pending.add(timer);
  }

  cancelAll(): void {
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
  }
}

/** For errors of clients that vanish mid-request: normal here, and they must not crash the hosting process. */
export function ignore(): void {}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

/** One request, whichever HTTP version carried it. */
export interface Exchange {
  path: string;
  method: string;
  headers: IncomingHttpHeaders;
  reply(reply: Reply): void;
  reset(): void;
  /**
   * HTTP/2: refuse this stream (REFUSED_STREAM: the client knows it was not processed and may send it again
   * elsewhere) and send a GOAWAY, after which the session closes. On HTTP/1.1, the connection is destroyed.
   */
  goaway(): void;
}

/**
 * The request and its answer behind one interface. Answers to a request that is already gone (reset, or its client
 * left) are dropped.
 */
export function toExchange(
  request: Http2ServerRequest | IncomingMessage,
  response: Http2ServerResponse | ServerResponse,
): Exchange {
  request.on("error", ignore);
  response.on("error", ignore);
  let closed = false;
  response.once("close", () => (closed = true));
  const reset =
    request instanceof Http2ServerRequest
      ? () => request.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR)
      : () => request.socket.destroy();
  const goaway =
    request instanceof Http2ServerRequest
      ? () => {
          const { stream } = request;
          const { session } = stream;
          // Node sends the last stream id it processed when given 0, so the first stream cannot be excluded by the
          // GOAWAY alone: REFUSED_STREAM says it was not processed.
          const lastStreamId = Math.max(0, (stream.id ?? 1) - 2);
          // Refused before the GOAWAY: nghttp2 drops streams above the last stream id once it is sent.
          stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
          session?.goaway(http2.constants.NGHTTP2_NO_ERROR, lastStreamId);
        }
      : reset;
  return {
    path: (request.url ?? "").split("?")[0] ?? "",
    method: request.method ?? "",
    headers: request.headers,
    reset: () => {
      if (!closed) reset();
    },
    goaway: () => {
      if (!closed) goaway();
    },
    reply: ({ status, headers = {}, body }) => {
      if (closed || response.headersSent) return;
      response.statusCode = status;
      for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
      response.end(body);
    },
  };
}

/** Scripted answers per key (a device token, a subscription): used in order, the last one repeating. */
export class Scripts<T> {
  private readonly byKey = new Map<string, { answers: T[]; next: number }>();

  /** No answers: the key answers normally again. */
  set(key: string, answers: T[]): void {
    if (answers.length === 0) this.byKey.delete(key);
    else this.byKey.set(key, { answers, next: 0 });
  }

  /** The key's next answer, or undefined when it has no script. */
  next(key: string): T | undefined {
    const script = this.byKey.get(key);
    if (script === undefined) return undefined;
    const answer = script.answers[Math.min(script.next, script.answers.length - 1)];
    script.next++;
    return answer;
  }

  clear(): void {
    this.byKey.clear();
  }
}
