/**
 * Opens a TCP tunnel through an HTTP CONNECT proxy (the `proxy` config key or HTTPS_PROXY), over which the caller
 * speaks TLS to the provider (or plain HTTP to a plain `http` one). Any answer but 200 is a failure to reach the provider: temporary, never a dead token.
 * A target given as an address carries the host name it stands for, which failures name instead of the address.
 */
import { connect, type Socket } from "node:net";
import type { ProxyConfig } from "../config/proxy.js";
import { TemporaryFailure } from "./pushkin.js";

const MAX_RESPONSE_HEAD = 16 * 1024;

export function openTunnel(
  proxy: ProxyConfig,
  target: { host: string; port: number; name?: string },
  signal?: AbortSignal,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const bracketed = (host: string) => (host.includes(":") ? `[${host}]` : host);
    const authority = `${bracketed(target.host)}:${target.port}`;
    const shown = `${bracketed(target.name ?? target.host)}:${target.port}`;
    const socket = connect(proxy.port, proxy.host);
    let head = Buffer.alloc(0);
    const fail = (message: string, cause?: unknown, publicReason = "the outbound proxy could not be reached") => {
      socket.destroy();
      reject(new TemporaryFailure(`proxy ${proxy.display}: ${message}`, { cause, publicReason }));
    };
    const onAbort = () => fail("aborted", signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    const cleanup = () => {
      signal?.removeEventListener("abort", onAbort);
      socket.off("data", onData);
      socket.off("error", onError);
    };
    const onError = (error: Error) => {
      cleanup();
      fail(`cannot connect: ${error.message}`, error);
    };
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) {
        if (head.length > MAX_RESPONSE_HEAD) {
          cleanup();
          fail("answer too long");
        }
        return;
      }
      cleanup();
      const statusLine = head.subarray(0, head.indexOf("\r\n")).toString("latin1");
      const status = Number(statusLine.split(" ")[1]);
      if (status !== 200)
        return fail(
          `CONNECT ${shown} answered '${statusLine}'`,
          undefined,
          `the outbound proxy refused the tunnel to the provider (${status})`,
        );
      const rest = head.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      resolve(socket);
    };
    socket.on("data", onData);
    socket.on("error", onError);
    const auth = proxy.credentials
      ? `Proxy-Authorization: Basic ${Buffer.from(proxy.credentials).toString("base64")}\r\n`
      : "";
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`);
  });
}
