/**
 * HTTP/1.1 requests with keep-alive connections per origin, for providers and endpoints that are not spoken to over
 * HTTP/2 (OAuth token endpoints, FCM legacy, WebPush push services). Through the HTTP CONNECT proxy when one is
 * configured, plain `http` requests too; TLS trust is the system's plus NODE_EXTRA_CA_CERTS, or `ca`. Failures to reach the server are
 * `TemporaryFailure`s; every answer, whatever its status, is returned.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type RequestOptions } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest, type AgentOptions as HttpsAgentOptions } from "node:https";
import type { Duplex } from "node:stream";
import { connect as connectTls, type ConnectionOptions } from "node:tls";
import type { ProxyConfig } from "../config/proxy.js";
import { openTunnel } from "./proxyTunnel.js";
import { TemporaryFailure } from "./pushkin.js";

export interface Http1ClientOptions {
  ca?: string | Buffer;
  proxy?: ProxyConfig;
  /** Connections per origin. */
  maxSockets?: number;
}

export interface Http1Request {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | Buffer;
  signal: AbortSignal;
  /** Connect to this address instead of resolving the URL's host again (the host still names the TLS server). */
  address?: { address: string; family: 4 | 6 };
}

export interface Http1Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** How long a proxy may take to open a tunnel. */
const TUNNEL_TIMEOUT_MS = 10_000;

/** Opens a connection as a CONNECT tunnel, to the pinned address if any, and hands it (TLS inside it, for https) on. */
function tunnelConnection(
  proxy: ProxyConfig,
  closing: AbortSignal,
  options: RequestOptions,
  secure: boolean,
  callback?: (error: Error | null, socket: Duplex) => void,
): undefined {
  const pinned = (options as PinnedOptions).pinnedAddress;
  const host = options.host ?? "localhost";
  const target = { host: pinned ?? host, port: Number(options.port ?? (secure ? 443 : 80)), name: host };
  const giveUp = AbortSignal.any([closing, AbortSignal.timeout(TUNNEL_TIMEOUT_MS)]);
  openTunnel(proxy, target, giveUp).then(
    (socket) => callback?.(null, secure ? connectTls({ ...(options as ConnectionOptions), socket }) : socket),
    (error: unknown) => callback?.(error as Error, undefined as unknown as Duplex),
  );
  return undefined;
}

/** What both Agent classes accept: https' options are http's plus TLS's. */
type AgentClass = new (options: HttpsAgentOptions) => HttpAgent;

/**
 * `Base` (http's Agent or https') with its connections through a CONNECT tunnel, TLS inside it when `secure`. Plain
 * http goes through the tunnel too, so that no request bypasses the proxy.
 */
function tunneling(Base: AgentClass, secure: boolean) {
  return class TunnelingAgent extends Base {
    /** Aborted by destroy(): a tunnel still being opened is given up. */
    private readonly closing = new AbortController();

    constructor(
      private readonly proxy: ProxyConfig,
      options: HttpsAgentOptions,
    ) {
      super(options);
    }

    override destroy(): void {
      this.closing.abort();
      super.destroy();
    }

    override createConnection(
      options: RequestOptions,
      callback?: (error: Error | null, socket: Duplex) => void,
    ): Duplex | undefined {
      return tunnelConnection(this.proxy, this.closing.signal, options, secure, callback);
    }
  };
}

const HttpsTunnelingAgent = tunneling(HttpsAgent, true);
const HttpTunnelingAgent = tunneling(HttpAgent, false);

export class Http1Client {
  private readonly https: HttpAgent;
  private readonly http: HttpAgent;

  constructor(options: Http1ClientOptions = {}) {
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 20, ca: options.ca };
    this.https = options.proxy ? new HttpsTunnelingAgent(options.proxy, agentOptions) : new HttpsAgent(agentOptions);
    const plainOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 20 };
    this.http = options.proxy ? new HttpTunnelingAgent(options.proxy, plainOptions) : new HttpAgent(plainOptions);
  }

  request(request: Http1Request): Promise<Http1Response> {
    const url = new URL(request.url);
    const secure = url.protocol === "https:";
    const send = secure ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method: request.method,
          headers: { ...request.headers, "content-length": String(Buffer.byteLength(request.body)) },
          agent: secure ? this.https : this.http,
          signal: request.signal,
          ...(request.address ? pinTo(request.address) : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on("error", (error) => reject(failure(error, request)));
        },
      );
      req.on("error", (error) => reject(failure(error, request)));
      req.end(request.body);
    });
  }

  close(): void {
    this.https.destroy();
    this.http.destroy();
  }
}

interface PinnedOptions {
  pinnedAddress?: string;
}

/** Request options that make the connection go to `address`, directly or as the proxy's CONNECT target. */
function pinTo({ address, family }: { address: string; family: 4 | 6 }): RequestOptions & PinnedOptions {
  return {
    pinnedAddress: address,
    lookup: ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
      if (options.all) callback(null, [{ address, family }]);
      else callback(null, address, family);
    }) as RequestOptions["lookup"],
  };
}

/**
 * The failure to report. A pinned request's address is not repeated in it (Node's connect errors end with it): it can
 * be a user's endpoint's, and failures reach the homeserver's answer. The cause keeps it for the log.
 */
function failure(error: Error, request: Http1Request): unknown {
  if (request.signal.aborted) return request.signal.reason;
  if (error instanceof TemporaryFailure) return error;
  const { syscall, code, address } = error as NodeJS.ErrnoException & { address?: string };
  const what =
    request.address && address !== undefined && syscall && code
      ? `cannot reach ${new URL(request.url).host}: ${syscall} ${code}`
      : `cannot reach the server: ${error.message}`;
  return new TemporaryFailure(what, { cause: error });
}
