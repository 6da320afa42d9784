/**
 * HTTP/1.1 written by hand on a TCP connection, for what no HTTP client sends: a body announced and then stalled, or
 * a connection that only ever sends its head. The answer is read as text until the server closes the connection.
 */
import { connect, type Socket } from "node:net";

/** A connection to `port` on 127.0.0.1, from `from` (another loopback address is another client). */
export function connectFrom(port: number, from: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, localAddress: from }, () => resolve(socket));
    socket.on("error", reject);
  });
}

/** Everything the server sends until it closes the connection, and whether it closed it with a reset. */
export function answerOf(socket: Socket): Promise<{ text: string; reset: boolean }> {
  return new Promise((resolve) => {
    let text = "";
    socket.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
    socket.on("error", () => resolve({ text, reset: true }));
    socket.on("close", () => resolve({ text, reset: false }));
  });
}

/** A POST's head announcing a body of `length` bytes, and the first bytes of that body, `sent`. */
export function stalledRequest(path: string, length: number, sent: string, contentType = "application/json"): string {
  return `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: ${contentType}\r\nContent-Length: ${length}\r\n\r\n${sent}`;
}
