/**
 * A long-lived HTTP/2 connection to one provider origin (APNs, FCM): opened on first use, reused by every request,
 * replaced when the provider sends GOAWAY or the connection dies.
 *
 * - The server's SETTINGS_MAX_CONCURRENT_STREAMS is respected: a request waits for a free stream rather than
 *   overrunning it (Apple advertises a small number until a connection has proved itself).
 * - Streams the server refused unprocessed (above a GOAWAY's last stream id, or REFUSED_STREAM) are sent again on a
 *   new connection at once: nothing in flight is lost to a GOAWAY, and nothing is sent twice.
 * - An idle connection is pinged, so that a dead one is found before a request waits on it: a PING still unanswered
 *   one interval later gives the connection up.
 * - Header values with non-ASCII characters go out as UTF-8; one no header can carry is refused unsent (http2Headers).
 * - Through an HTTP CONNECT proxy when one is configured; TLS trust is the system's plus NODE_EXTRA_CA_CERTS, or `ca`.
 *
 * Failures to reach the provider are `TemporaryFailure`s: the caller decides whether time allows another try.
 */
import {
  connect as connectHttp2,
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from "node:http2";
import { connect as connectTls, type TLSSocket } from "node:tls";
import type { Logger } from "pino";
import type { ProxyConfig } from "../config/proxy.js";
import { wireHeaders } from "./http2Headers.js";
import { openTunnel } from "./proxyTunnel.js";
import { PermanentFailure, TemporaryFailure } from "./pushkin.js";

export interface Http2OriginOptions {
  /** `https://host[:port]` */
  origin: string;
  /** Trusted CA certificates instead of the system's (a sandbox or private CA). */
  ca?: string | Buffer;
  /** A TLS client certificate and its key (APNs certificate authentication). */
  cert?: string | Buffer;
  key?: string | Buffer;
  proxy?: ProxyConfig;
  connectTimeoutMs?: number;
  pingIntervalMs?: number;
  log?: Logger;
}

export interface Http2Request {
  method: string;
  path: string;
  headers: OutgoingHttpHeaders;
  body: string | Buffer;
  signal: AbortSignal;
}

export interface Http2Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** The server did not process the stream; it is safe to send it again. */
class RefusedStream extends TemporaryFailure {}

/** Sending a refused stream again is free, but a server refusing everything must not keep us looping. */
const MAX_RESENDS = 3;

class Connection {
  session: ClientHttp2Session | undefined;
  active = 0;
  maxStreams = 1;
  usable = true;
  private waiters: (() => void)[] = [];

  /** Waits until a stream may be opened, or the connection is no longer usable. */
  waitForSlot(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const wake = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(wake);
    });
  }

  release(): void {
    this.active--;
    this.waiters.shift()?.();
  }

  wakeAll(): void {
    this.waiters.splice(0).forEach((wake) => wake());
  }
}

export class Http2Origin {
  private connection: Connection | undefined;
  private connecting: Promise<Connection> | undefined;
  private closed = false;
  private readonly open = new Set<ClientHttp2Session>();
  /** Every socket of a session, so that close() can end them: Node leaves a still-connecting one open. */
  private readonly sockets = new Set<TLSSocket>();
  /** Aborted by close(): a connection attempt (a tunnel, a handshake) stops waiting. */
  private readonly closing = new AbortController();

  constructor(private readonly options: Http2OriginOptions) {}

  async request(request: Http2Request): Promise<Http2Response> {
    const headers = wireHeaders(request.method, request.path, request.headers);
    for (let resend = 0; ; resend++) {
      const connection = await this.acquire(request.signal);
      try {
        return await send(connection, request, headers);
      } catch (error) {
        if (!(error instanceof RefusedStream) || resend >= MAX_RESENDS) throw error;
        this.options.log?.debug({ origin: this.options.origin }, "Stream refused unprocessed; sending it again");
      }
    }
  }

  /**
   * Closes the connection gracefully: streams in flight may finish for up to `graceMs`. A connection still being
   * made (a TCP connect, a TLS handshake, a proxy's CONNECT) is given up at once. Whatever state a connection is in,
   * its socket is gone when this resolves.
   */
  async close(graceMs = 2000): Promise<void> {
    this.closed = true;
    this.closing.abort();
    const sessions = [...this.open].filter((session) => !session.destroyed);
    await Promise.all(
      sessions.map(
        (session) =>
          new Promise<void>((resolve) => {
            if (session.connecting) {
              session.destroy();
              return resolve();
            }
            // Resolved by the timer too: a session may be gone without its close callback ever being called.
            const timer = setTimeout(() => {
              session.destroy();
              resolve();
            }, graceMs).unref();
            session.close(() => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
    // Node does not end the socket of a session closed, then destroyed, before its handshake completed.
    for (const socket of this.sockets) socket.destroy();
  }

  /** A connection with a free stream, counted as taken. */
  private async acquire(signal: AbortSignal): Promise<Connection> {
    for (;;) {
      if (this.closed) throw new TemporaryFailure(`${this.options.origin}: the connection is closed (shutting down)`);
      signal.throwIfAborted();
      const connection = this.connection?.usable ? this.connection : await this.connect(signal);
      if (!connection.usable) continue;
      if (connection.active < connection.maxStreams) {
        connection.active++;
        return connection;
      }
      await connection.waitForSlot(signal);
    }
  }

  private connect(signal: AbortSignal): Promise<Connection> {
    this.connecting ??= this.openConnection().finally(() => (this.connecting = undefined));
    // Every waiting request shares one connection attempt; each may still give up at its own deadline.
    return Promise.race([
      this.connecting,
      new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      }),
    ]);
  }

  private async openConnection(): Promise<Connection> {
    const { origin, ca, cert, key, proxy, log } = this.options;
    const url = new URL(origin);
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const port = Number(url.port || 443);
    const connectTimeoutMs = this.options.connectTimeoutMs ?? 10_000;
    const timeout = AbortSignal.any([AbortSignal.timeout(connectTimeoutMs), this.closing.signal]);
    const tls = { ca, cert, key, servername: isIp(host) ? undefined : host, ALPNProtocols: ["h2"] };

    const tunnel = proxy ? await openTunnel(proxy, { host, port }, timeout) : undefined;
    const session = connectHttp2(origin, {
      ...tls,
      settings: { enablePush: false },
      createConnection: () => {
        const socket = connectTls({ ...tls, ...(tunnel ? { socket: tunnel } : { host, port }) });
        this.sockets.add(socket);
        socket.once("close", () => this.sockets.delete(socket));
        return socket;
      },
    });
    this.open.add(session);
    // At once, not after the handshake: a session that never connects must not stay in `open` for good.
    session.once("close", () => this.open.delete(session));
    const connection = new Connection();
    connection.session = session;

    await new Promise<void>((resolve, reject) => {
      const fail = (error: unknown) => {
        session.destroy();
        reject(new TemporaryFailure(`cannot connect to ${origin}: ${messageOf(error)}`, { cause: error }));
      };
      const onTimeout = () =>
        fail(new Error(this.closed ? "shutting down" : `no answer within ${connectTimeoutMs} ms`));
      timeout.addEventListener("abort", onTimeout, { once: true });
      session.once("error", fail);
      // The server's first SETTINGS tells how many streams it allows; nothing is sent before it arrives.
      session.once("remoteSettings", (settings) => {
        timeout.removeEventListener("abort", onTimeout);
        session.off("error", fail);
        connection.maxStreams = settings.maxConcurrentStreams ?? 100;
        resolve();
      });
    });

    session.on("remoteSettings", (settings) => {
      connection.maxStreams = settings.maxConcurrentStreams ?? connection.maxStreams;
      connection.wakeAll();
    });
    const retire = () => {
      connection.usable = false;
      if (this.connection === connection) this.connection = undefined;
      connection.wakeAll();
    };
    session.on("goaway", (code: number) => {
      log?.info({ origin, code }, "The provider sent GOAWAY; new requests go to a new connection");
      retire();
    });
    session.on("error", (error: Error) => log?.warn({ origin, err: error }, "HTTP/2 connection error"));
    session.on("close", () => {
      clearInterval(ping);
      retire();
    });
    const pingIntervalMs = this.options.pingIntervalMs ?? 60_000;
    // Node never times a PING out: it gives up only after ten go unanswered, so a peer gone silent is found here.
    let pingUnanswered = false;
    const ping = setInterval(() => {
      if (session.closed || session.destroyed) return;
      if (pingUnanswered) {
        return void session.destroy(new Error(`the provider did not answer a PING within ${pingIntervalMs} ms`));
      }
      if (connection.active > 0) return;
      pingUnanswered = true;
      session.ping((error) => {
        pingUnanswered = false;
        if (error) session.destroy(error);
      });
    }, pingIntervalMs).unref();

    this.connection = connection;
    return connection;
  }
}

/** `wire`: the pseudo-headers and headers as they go on the wire (wireHeaders). */
function send(connection: Connection, request: Http2Request, wire: OutgoingHttpHeaders): Promise<Http2Response> {
  return new Promise((resolve, reject) => {
    const { signal } = request;
    let stream: ClientHttp2Stream;
    try {
      stream = connection.session!.request(wire);
    } catch (error) {
      connection.release();
      const session = connection.session!;
      if (session.closed || session.destroyed || (error as { code?: unknown }).code === "ERR_HTTP2_OUT_OF_STREAMS") {
        // The connection can take no more streams: the next request opens another.
        connection.usable = false;
        if (!session.closed) session.close();
        return reject(new TemporaryFailure(`cannot open a stream: ${messageOf(error)}`, { cause: error }));
      }
      // The connection is fine; this request cannot go on it (a header HTTP/2 forbids): trying again would not help.
      return reject(new PermanentFailure(`cannot open a stream: ${messageOf(error)}`, { cause: error }));
    }
    let status = 0;
    let headers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (outcome: () => void) => {
      if (done) return;
      done = true;
      signal.removeEventListener("abort", onAbort);
      outcome();
    };
    const onAbort = () => {
      finish(() => reject(signal.reason));
      stream.close(constants.NGHTTP2_CANCEL);
    };
    signal.addEventListener("abort", onAbort, { once: true });

    stream.on("response", (h) => {
      headers = h;
      status = Number(h[":status"]);
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    // The outcome is decided once the stream is closed, by how it closed: Node also ends a stream whose connection
    // went away, with a reset code, and what arrived before that is no answer, or half of one.
    let ended = false;
    stream.on("end", () => (ended = true));
    stream.on("error", () => {});
    stream.on("close", () => {
      connection.release();
      const code = stream.rstCode;
      if (ended && code === constants.NGHTTP2_NO_ERROR) {
        return finish(() => resolve({ status, headers, body: Buffer.concat(chunks) }));
      }
      if (code === constants.NGHTTP2_REFUSED_STREAM) {
        return finish(() => reject(new RefusedStream("the provider refused the stream unprocessed")));
      }
      finish(() =>
        reject(
          new TemporaryFailure(
            status
              ? `the stream closed (code ${code}) after the provider began answering ${status}`
              : `the stream closed (code ${code}) before the provider answered`,
          ),
        ),
      );
    });
    // A GET or HEAD is sent with its end at once (Node's endStream): it has no body to write.
    if (!stream.writableEnded) stream.end(request.body);
  });
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(":");
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
