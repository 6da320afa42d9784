import type { Server } from "node:net";

/** A listener that could not start, said in terms of the config: its message is the whole story, no stack needed. */
export class ListenError extends Error {
  override readonly name = "ListenError";
}

/** The config keys a listener comes from, so that a failure can name the one to change. */
export interface ListenerKeys {
  port: string;
  address: string;
}

/**
 * Starts listening, and fails with the listen error (a port in use, an address not on this machine). With `keys`,
 * the error names the config key to change, e.g.
 * `http.port: cannot listen on 127.0.0.1 port 5000: EADDRINUSE, the port is already in use…: choose another http.port…`.
 */
export function listen(server: Server, port: number, host: string | undefined, keys?: ListenerKeys): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) =>
      reject(keys === undefined ? error : new ListenError(describeFailure(error, port, host, keys)));
    server.once("error", failed);
    server.listen(port, host, () => {
      server.off("error", failed);
      resolve();
    });
  });
}

function describeFailure(error: NodeJS.ErrnoException, port: number, host: string | undefined, keys: ListenerKeys) {
  const where = `${host || "every interface"} port ${port}`;
  switch (error.code) {
    case "EADDRINUSE":
      return `${keys.port}: cannot listen on ${where}: EADDRINUSE, the port is already in use (by another process, or another listener of this config): choose another ${keys.port}, or stop what holds the port`;
    case "EADDRNOTAVAIL":
      return `${keys.address}: cannot listen on ${where}: EADDRNOTAVAIL, the address is not one of this machine's: correct ${keys.address}`;
    case "EACCES":
      return `${keys.port}: cannot listen on ${where}: EACCES, a port below 1024 needs privileges: choose a port from 1024 up, or give Herald the privilege`;
    default:
      return `${keys.port}: cannot listen on ${where} (${keys.address}): ${error.message}`;
  }
}
