/**
 * The Node HTTP server under the Koa application, set up for what reaches it before the application can:
 *
 * - a request Node's parser refuses (a bad method, header, length or chunk; headers too large) gets an answer that
 *   says what was wrong, instead of Node's bare status line;
 * - a CONNECT request gets the 405 of any unsupported method, instead of a closed connection (Herald is no proxy);
 * - an HTTP/1.1 request without Host, or with an Expect other than 100-continue, is served as Sygnal serves it
 *   (Node would answer a bare 400 or 417; Herald reads neither header).
 *
 * A request's headers must arrive within 20 s and the whole request within 30 s (Node's defaults: 60 s and 5 minutes),
 * checked every second (Node's default: every 30 s), so that a client that trickles its headers cannot hold a
 * connection for long; it is answered 408. Bodies have a tighter deadline of their own (`body.ts`).
 *
 * Each new connection is first counted against the connection caps (`connectionLimits.ts`); one over a cap is answered
 * 503 and closed before Node's HTTP parser ever sees it.
 *
 * A connection answered before its request was read to the end, here or by the application (413, 503), is closed
 * gracefully (`lingeringClose.ts`), so that the client reads the answer rather than a reset.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import type { ConnectionLimits, Refusal } from "./connectionLimits.js";
import { answerAndLinger, isLingering, lingerWhenClosedEarly, trackRequest } from "./lingeringClose.js";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const HEADERS_TIMEOUT_MS = 20_000;
const REQUEST_TIMEOUT_MS = 30_000;
const TIMEOUT_CHECK_EVERY_MS = 1_000;

export function createApiServer(handler: Handler, log: Logger, limits?: ConnectionLimits): Server {
  const serve: Handler = (req, res) => {
    // A request pipelined behind one answered early: the connection is closing, nobody would read the answer.
    if (isLingering(req.socket)) return void req.socket.destroy();
    trackRequest(req);
    handler(req, res);
  };
  const server = createServer(
    {
      requireHostHeader: false,
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: TIMEOUT_CHECK_EVERY_MS,
    },
    serve,
  );
  if (limits) admitThrough(server, limits);
  server.on("connection", (socket: Socket) => lingerWhenClosedEarly(socket));
  server.on("checkExpectation", serve);
  server.on("clientError", (error: ClientError, socket: Duplex) => answerClientError(error, socket, log));
  // Node hands CONNECT to this event, or closes the connection when nobody listens.
  server.on("connect", (_req: IncomingMessage, socket: Duplex) => {
    const body = JSON.stringify({ errcode: "M_UNRECOGNIZED", error: "Unrecognized request" });
    sendRaw(socket, 405, "Method Not Allowed", "application/json", body, ["Allow: GET, HEAD, POST"]);
  });
  return server;
}

/**
 * Puts the caps in front of Node's own connection listener, which `http.Server` registers when it is created and which
 * sets the HTTP parser on the socket: a refused connection never reaches it.
 */
function admitThrough(server: Server, limits: ConnectionLimits): void {
  const [parse, ...others] = server.listeners("connection") as ((socket: Socket) => void)[];
  if (parse === undefined || others.length > 0) throw new Error("http.Server's connection listener is not as expected");
  server.removeAllListeners("connection");
  server.on("connection", (socket: Socket) => {
    const refusal = limits.admit(socket);
    if (refusal) refuse(socket, refusal);
    else parse.call(server, socket);
  });
}

const REFUSALS: Record<Refusal, string> = {
  total: "the gateway has too many connections open: retry later",
  per_address: "too many connections from this address: retry later",
};

/** Refused connections being closed gracefully, at most: past it, a flood of connections is simply reset. */
const MAX_REFUSED_CLOSING = 1024;
let refusedClosing = 0;

function refuse(socket: Socket, refusal: Refusal): void {
  socket.on("error", () => {});
  if (refusedClosing >= MAX_REFUSED_CLOSING) return void socket.destroy();
  refusedClosing++;
  socket.once("close", () => refusedClosing--);
  const body = JSON.stringify({ errcode: "M_UNAVAILABLE", error: REFUSALS[refusal] });
  sendRaw(socket, 503, "Service Unavailable", "application/json", body, ["Retry-After: 1"]);
}

interface ClientError extends Error {
  code?: string;
  /** llhttp's description of what it could not parse. */
  reason?: string;
}

/** Node's own answers to these, with a body. */
const SPECIAL: Record<string, [status: number, statusText: string, message: string]> = {
  HPE_HEADER_OVERFLOW: [431, "Request Header Fields Too Large", "the request's header fields are too large"],
  ERR_HTTP_REQUEST_TIMEOUT: [408, "Request Timeout", "the request took too long to arrive"],
};

function answerClientError(error: ClientError, socket: Duplex, log: Logger): void {
  // The parser reports an error for each further chunk of a connection already answered.
  if (isLingering(socket)) return;
  // As Node's default: answer only when nothing of a response has been written on this connection yet.
  const inFlight = (socket as { _httpMessage?: ServerResponse })._httpMessage;
  if (error.code === "ECONNRESET" || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  log.debug({ code: error.code, reason: error.reason }, "Refused a malformed HTTP request");
  if (error.code === "HPE_CHUNK_EXTENSIONS_OVERFLOW") {
    const body = JSON.stringify({ errcode: "M_TOO_LARGE", error: "the request's chunk extensions are too large" });
    return sendRaw(socket, 413, "Payload Too Large", "application/json", body);
  }
  const [status, statusText, message] = SPECIAL[error.code ?? ""] ?? [
    400,
    "Bad Request",
    `malformed HTTP request${error.reason ? `: ${error.reason}` : ""}`,
  ];
  sendRaw(socket, status, statusText, "text/plain; charset=utf-8", message);
}

/** An answer written on the connection itself (there is no response object), which then closes (gracefully). */
function sendRaw(
  socket: Duplex,
  status: number,
  statusText: string,
  type: string,
  body: string,
  extraHeaders: string[] = [],
): void {
  const head = [
    `HTTP/1.1 ${status} ${statusText}`,
    `Content-Type: ${type}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    "Connection: close",
    ...extraHeaders,
  ];
  answerAndLinger(socket, `${head.join("\r\n")}\r\n\r\n${body}`);
}
