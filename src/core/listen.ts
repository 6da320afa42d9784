import type { Server } from "node:net";

/** Starts listening, and fails with the listen error (a port in use, an address not on this machine). */
export function listen(server: Server, port: number, host: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
