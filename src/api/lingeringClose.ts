/**
 * Closing a connection whose request was answered before it was read to the end (a body too large, a request shed
 * under load or during shutdown, a malformed request).
 *
 * Closing a socket with unread bytes in its receive buffer, or while the client is still sending, makes the kernel
 * send a reset, and a reset can destroy the answer before the client has read it: the client sees a broken connection
 * instead of the 413 or the 503 that told it what to do. So such a connection is closed as web servers do it: the
 * answer and a FIN are sent, what the client still sends is read and dropped for a short while, then the socket is
 * destroyed. The bytes dropped are never buffered, so a client cannot use the linger to make Herald hold its body.
 */
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";

/** How long a connection answered early goes on being read, at most. */
const LINGER_MS = 2_000;

const lingering = new WeakSet<Duplex>();
const pendingRequest = new WeakMap<Duplex, IncomingMessage>();

/** True once the connection is closing: a request that still arrives on it is not served. */
export function isLingering(socket: Duplex): boolean {
  return lingering.has(socket);
}

/** Sends `answer` and closes the connection after a linger (no HTTP response object owns it). */
export function answerAndLinger(socket: Duplex, answer: string): void {
  lingering.add(socket);
  socket.end(answer);
  socket.resume();
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

/**
 * Makes Node's closing of `socket` after a `Connection: close` answer linger when the request on it has not been read
 * to the end. Node closes such a connection with `destroySoon()` as soon as the answer is written; that one call is
 * replaced on this socket, and only that closing changes.
 */
export function lingerWhenClosedEarly(socket: Socket): void {
  const destroySoon = socket.destroySoon.bind(socket);
  socket.destroySoon = () => {
    const request = pendingRequest.get(socket);
    if (request === undefined || request.complete || socket.destroyed) return destroySoon();
    lingering.add(socket);
    // Drop the rest of the body as the parser reads it, without keeping it.
    request.removeAllListeners("data");
    request.resume();
    socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
}

/** Records the request being served on its connection, for `lingerWhenClosedEarly`. */
export function trackRequest(request: IncomingMessage): void {
  pendingRequest.set(request.socket, request);
}
