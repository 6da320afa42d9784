/**
 * A TCP relay on loopback in front of a server, for a peer that goes silent without closing anything: a connection
 * through it can be silenced, after which nothing passes either way (as when a NAT or a dead host drops the packets),
 * and what the client still sends is only counted, in TLS records (the bytes are encrypted; the record headers are
 * not). The whole relay can also be cut, as a server that went away: every connection closed, new ones closed at once.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export interface RelayedConnection {
  /** From now on nothing passes, either way; the sockets stay open. */
  silence(): void;
  /** TLS records the client sent since `silence()`. */
  readonly recordsWhileSilent: number;
  /** Settles when the client closes its side. */
  readonly clientClosed: Promise<void>;
}

export interface TcpRelay {
  port: number;
  /** Every connection relayed, in order. */
  connections: RelayedConnection[];
  /** Closes every connection, and each new one as soon as it is accepted, until `restore()`. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

const TLS_RECORD_HEADER_BYTES = 5;

export async function startTcpRelay(targetPort: number, targetHost = "127.0.0.1"): Promise<TcpRelay> {
  const connections: RelayedConnection[] = [];
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
  };
  let cut = false;
  const server: Server = createServer((client) => {
    if (cut) return void client.destroy();
    const upstream = connect(targetPort, targetHost);
    track(client);
    track(upstream);
    let silent = false;
    let records = 0;
    let unread = Buffer.alloc(0);
    const clientClosed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    connections.push({
      silence: () => (silent = true),
      get recordsWhileSilent() {
        return records;
      },
      clientClosed,
    });
    client.on("data", (chunk: Buffer) => {
      if (!silent) return void upstream.write(chunk);
      unread = Buffer.concat([unread, chunk]);
      while (unread.length >= TLS_RECORD_HEADER_BYTES) {
        const end = TLS_RECORD_HEADER_BYTES + unread.readUInt16BE(3);
        if (unread.length < end) break;
        records++;
        unread = unread.subarray(end);
      }
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!silent) client.write(chunk);
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    connections,
    cut: () => {
      cut = true;
      for (const socket of sockets) socket.destroy();
    },
    restore: () => {
      cut = false;
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
