/**
 * A Sentry-compatible ingest endpoint on loopback: `POST /api/<project>/envelope/` answered 200 as Sentry answers, each
 * envelope kept as the bytes that arrived (gunzipped when sent compressed) and as its parsed items.
 */
import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";
import { gunzipSync } from "node:zlib";

export interface Envelope {
  /** The request's path and query, e.g. `/api/42/envelope/?sentry_key=…`. */
  url: string;
  /** The request's headers and body as they came, the body decompressed: what a leak would be looked for in. */
  raw: string;
  header: Record<string, unknown>;
  items: { header: { type?: string } & Record<string, unknown>; payload: string }[];
}

export interface SentryIngest {
  /** `http://publickey@127.0.0.1:<port>/<project>` */
  dsn: string;
  port: number;
  /** Every request, envelope or not. */
  requests: number;
  envelopes: Envelope[];
  /** The payloads of the `event` items of every envelope, parsed. */
  events(): Record<string, unknown>[];
  close(): Promise<void>;
}

export async function startSentryIngest(project = "42"): Promise<SentryIngest> {
  const envelopes: Envelope[] = [];
  const sockets = new Set<Socket>();
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests++;
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      let body = Buffer.concat(chunks);
      if (req.headers["content-encoding"] === "gzip") body = gunzipSync(body);
      if (req.method === "POST" && req.url?.startsWith(`/api/${project}/envelope/`)) {
        const text = body.toString("utf8");
        envelopes.push({ url: req.url, raw: `${JSON.stringify(req.headers)}\n${req.url}\n${text}`, ...parse(text) });
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      } else {
        res.writeHead(404).end();
      }
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    dsn: `http://publickey@127.0.0.1:${port}/${project}`,
    port,
    get requests() {
      return requests;
    },
    envelopes,
    events: () =>
      envelopes.flatMap((e) =>
        e.items.filter((i) => i.header.type === "event").map((i) => JSON.parse(i.payload) as Record<string, unknown>),
      ),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The envelope format: a header line, then for each item a header line and its payload (one line for JSON items). */
function parse(text: string): Pick<Envelope, "header" | "items"> {
  const lines = text.split("\n");
  const header = JSON.parse(lines[0]!) as Record<string, unknown>;
  const items: Envelope["items"] = [];
  for (let i = 1; i + 1 < lines.length; i += 2) {
    if (!lines[i]) break;
    items.push({ header: JSON.parse(lines[i]!) as Envelope["items"][number]["header"], payload: lines[i + 1]! });
  }
  return { header, items };
}
