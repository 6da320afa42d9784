/** A minimal HTTP CONNECT proxy on loopback, recording each tunnel it opened and the credentials it was given. */
import { connect, createServer, type Server, type Socket } from "node:net";

export interface ConnectProxy {
  url: string;
  tunnels: { target: string; authorization: string | undefined }[];
  close(): Promise<void>;
}

export async function startConnectProxy(options: { requireAuth?: string } = {}): Promise<ConnectProxy> {
  const tunnels: ConnectProxy["tunnels"] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => {});
    let head = "";
    const onData = (chunk: Buffer) => {
      head += chunk.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      client.off("data", onData);
      const [requestLine, ...headerLines] = head.slice(0, end).split("\r\n");
      const [method, target] = (requestLine ?? "").split(" ");
      const authorization = headerLines
        .find((l) => l.toLowerCase().startsWith("proxy-authorization:"))
        ?.slice("proxy-authorization:".length)
        .trim();
      tunnels.push({ target: target ?? "", authorization });
      if (method !== "CONNECT" || !target) return void client.end("HTTP/1.1 405 Method Not Allowed\r\n\r\n");
      if (options.requireAuth && authorization !== `Basic ${Buffer.from(options.requireAuth).toString("base64")}`) {
        return void client.end("HTTP/1.1 407 Proxy Authentication Required\r\n\r\n");
      }
      const colon = target.lastIndexOf(":");
      const upstream = connect(Number(target.slice(colon + 1)), target.slice(0, colon).replace(/^\[(.*)\]$/, "$1"));
      sockets.add(upstream);
      upstream.on("close", () => sockets.delete(upstream));
      upstream.on("error", () => client.destroy());
      upstream.on("connect", () => {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        const rest = head.slice(end + 4);
        if (rest) upstream.write(Buffer.from(rest, "latin1"));
        client.pipe(upstream).pipe(client);
      });
    };
    client.on("data", onData);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    tunnels,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
