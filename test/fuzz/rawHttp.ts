/**
 * One HTTP/1.1 exchange over its own TCP connection, written byte by byte as the fuzz run wants it — any method,
 * request target, version, header, framing (an honest or lying Content-Length, chunks of any size, nothing), and the
 * bytes split over several writes — and the answer read back, however the exchange ended.
 */
import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { concat } from "./json.js";

export interface RawRequest {
  method: string;
  /** As written on the request line: `/path?query`, `*`, `http://host/path`, … */
  target: string;
  version: string;
  /** Written in order, as given (names and values unchecked); framing headers come from `framing`. */
  headers: [string, string][];
  body: Uint8Array;
  framing: Framing;
  /** Offsets into the request's bytes where the writer stops and lets the server read what it has. */
  pauses: number[];
}

export type Framing =
  /** `Content-Length: <the body's length>`, or the given text (a lie, a number that is none). */
  | { kind: "length"; declared?: string }
  /** `Transfer-Encoding: chunked`, the body cut into chunks of these sizes (the rest in one more), then the last chunk
   * unless `unterminated`. */
  | { kind: "chunked"; sizes: number[]; unterminated?: boolean }
  /** No framing header at all. */
  | { kind: "none" };

export interface RawAnswer {
  /** answered: a whole response arrived. dropped: the connection closed or reset first. timeout: nothing more came. */
  outcome: "answered" | "dropped" | "timeout";
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  /** Everything received, for reports. */
  received: Buffer;
  /** The request never completed, and the client closed its side of the connection to end it. */
  halfClosed?: boolean;
  /** The answer to `SendOptions.followUp`, when it was sent. */
  followUp?: RawAnswer;
}

export interface SendOptions {
  /** How long a whole request may wait for its answer. */
  answerTimeoutMs?: number;
  /** For a request whose body never completes: how long to wait before closing our side to end it. */
  incompleteGraceMs?: number;
  /** A second request, sent on the same connection once the first is answered, unless the server closes it. */
  followUp?: RawRequest;
}

const encoder = new TextEncoder();

/** The request's bytes, as they go on the wire. */
export function requestBytes(request: RawRequest): Uint8Array {
  const { framing, body } = request;
  const headers = [...request.headers];
  let payload = body;
  if (framing.kind === "length") headers.push(["Content-Length", framing.declared ?? String(body.length)]);
  if (framing.kind === "chunked") {
    headers.push(["Transfer-Encoding", "chunked"]);
    payload = chunked(body, framing.sizes, !framing.unterminated);
  }
  const head = `${request.method} ${request.target} ${request.version}\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`;
  return concat([encoder.encode(head), payload]);
}

function chunked(body: Uint8Array, sizes: number[], terminate: boolean): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const size of [...sizes, body.length]) {
    const chunk = body.subarray(offset, offset + size);
    offset += chunk.length;
    if (chunk.length === 0) continue;
    parts.push(encoder.encode(`${chunk.length.toString(16)}\r\n`), chunk, encoder.encode("\r\n"));
  }
  if (terminate) parts.push(encoder.encode("0\r\n\r\n"));
  return concat(parts);
}

/** The request as a reader of a report wants it: its bytes as a JSON string, cut short. */
export function showRequest(request: RawRequest): string {
  const text = Buffer.from(requestBytes(request)).toString("latin1");
  const shown = text.length > 1_500 ? `${text.slice(0, 1_000)}…(${text.length} bytes)…${text.slice(-300)}` : text;
  return JSON.stringify(shown);
}

/** Whether the server can know the request has ended without our closing the connection. */
export function isComplete(request: RawRequest): boolean {
  const { framing } = request;
  // Framing headers written by hand may announce more than comes.
  if (request.headers.some(([name]) => /^\s*(content-length|transfer-encoding)\s*$/i.test(name))) return false;
  if (framing.kind === "chunked") return !framing.unterminated;
  if (framing.kind === "length" && framing.declared !== undefined) {
    const declared = Number(framing.declared);
    return !/^\d+$/.test(framing.declared.trim()) || declared <= request.body.length;
  }
  return true;
}

/** Sends the request on a new connection and reads the first final answer (interim 1xx answers are skipped). */
export async function sendRaw(port: number, request: RawRequest, options: SendOptions = {}): Promise<RawAnswer> {
  const timeoutMs = options.answerTimeoutMs ?? 10_000;
  const socket = connect({ port, host: "127.0.0.1", noDelay: true });
  let received = Buffer.alloc(0);
  let closed = false;
  let wake = () => {};
  socket.on("data", (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    wake();
  });
  socket.on("error", () => undefined);
  socket.on("close", () => {
    closed = true;
    wake();
  });

  /** The answer that starts at `offset`, once it is whole, the connection ends, or time runs out. */
  const answerFrom = (offset: number, method: string, ms: number) =>
    new Promise<{ answer: RawAnswer; end: number }>((resolve) => {
      const timer = setTimeout(() => finish("timeout"), ms);
      const finish = (outcome: "answered" | "dropped" | "timeout") => {
        clearTimeout(timer);
        wake = () => {};
        const parsed = parseAnswer(received.subarray(offset), method, closed);
        if (parsed) return resolve({ answer: { outcome: "answered", ...parsed, received }, end: offset + parsed.end });
        resolve({ answer: { outcome, status: 0, headers: {}, body: Buffer.alloc(0), received }, end: received.length });
      };
      wake = () => {
        if (parseAnswer(received.subarray(offset), method, closed)) finish("answered");
        else if (closed) finish("dropped");
      };
      wake();
    });

  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const first = answerFrom(0, request.method, timeoutMs);
    await write(socket, request);
    if (!isComplete(request)) {
      // The server rightly waits for the rest; closing our side tells it there is none.
      const early = await Promise.race([first, sleep(options.incompleteGraceMs ?? 20).then(() => undefined)]);
      if (early === undefined && !socket.destroyed) socket.end();
    }
    const { answer, end } = await first;
    if (socket.writableEnded) answer.halfClosed = true;
    const { followUp } = options;
    if (followUp && answer.outcome === "answered" && !/\bclose\b/i.test(answer.headers.connection ?? "") && !closed) {
      const second = answerFrom(end, followUp.method, timeoutMs);
      await write(socket, followUp);
      answer.followUp = (await second).answer;
    }
    return answer;
  } catch {
    return { outcome: "dropped", status: 0, headers: {}, body: Buffer.alloc(0), received };
  } finally {
    socket.destroy();
  }
}

/** Writes the request, stopping at its pauses so that the server reads it in pieces. */
async function write(socket: Socket, request: RawRequest): Promise<void> {
  const bytes = requestBytes(request);
  let offset = 0;
  for (const pause of request.pauses.filter((p) => p > 0 && p < bytes.length).sort((a, b) => a - b)) {
    if (socket.destroyed) return;
    socket.write(bytes.subarray(offset, pause));
    offset = pause;
    await sleep(1);
  }
  if (!socket.destroyed) socket.write(bytes.subarray(offset));
}

/** An answer, and where it ends in the data. */
type Parsed = Pick<RawAnswer, "status" | "headers" | "body"> & { end: number };

/** The first final response in `data`, once it is all there (`closed`: the connection has ended). */
function parseAnswer(data: Buffer, method: string, closed: boolean): Parsed | undefined {
  let start = 0;
  for (;;) {
    const headEnd = data.indexOf("\r\n\r\n", start);
    if (headEnd < 0) return undefined;
    const [statusLine, ...lines] = data.subarray(start, headEnd).toString("latin1").split("\r\n");
    const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(statusLine ?? "")?.[1] ?? NaN);
    if (Number.isNaN(status)) return undefined;
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    const bodyStart = headEnd + 4;
    if (status >= 100 && status < 200) {
      start = bodyStart;
      continue;
    }
    if (method === "HEAD" || status === 204 || status === 304) {
      return { status, headers, body: Buffer.alloc(0), end: bodyStart };
    }
    if (headers["transfer-encoding"]?.toLowerCase() === "chunked") {
      const chunked = dechunk(data.subarray(bodyStart));
      return chunked && { status, headers, body: chunked.body, end: bodyStart + chunked.length };
    }
    if (headers["content-length"] !== undefined) {
      const length = Number(headers["content-length"]);
      if (data.length - bodyStart < length) return undefined;
      return { status, headers, body: data.subarray(bodyStart, bodyStart + length), end: bodyStart + length };
    }
    // Delimited by the end of the connection.
    return closed ? { status, headers, body: data.subarray(bodyStart), end: data.length } : undefined;
  }
}

/** A chunked body and the bytes it took, once it is all there. */
function dechunk(data: Buffer): { body: Buffer; length: number } | undefined {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf("\r\n", offset);
    if (lineEnd < 0) return undefined;
    const size = parseInt(data.subarray(offset, lineEnd).toString("latin1"), 16);
    if (Number.isNaN(size)) return undefined;
    if (size === 0) {
      const end = data.indexOf("\r\n\r\n", lineEnd);
      return end < 0 ? undefined : { body: Buffer.concat(parts), length: end + 4 };
    }
    if (data.length < lineEnd + 2 + size + 2) return undefined;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
}
