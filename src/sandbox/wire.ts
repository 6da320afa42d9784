/** Small pieces every sandbox provider uses to read requests and to fake slowness. */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import http2, { Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import type { Readable } from "node:stream";

/** A header's value; a repeated header arrives joined or as an array, and is then checked as one odd value. */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
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
  return {
    path: (request.url ?? "").split("?")[0] ?? "",
    method: request.method ?? "",
    headers: request.headers,
    reset: () => {
      if (!closed) reset();
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
