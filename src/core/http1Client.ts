/**
 * HTTP/1.1 requests with keep-alive connections per origin, for providers and endpoints that are not spoken to over
 * HTTP/2 (OAuth token endpoints, FCM legacy, WebPush push services). Through the HTTP CONNECT proxy when one is
 * configured; TLS trust is the system's plus NODE_EXTRA_CA_CERTS, or `ca`. Failures to reach the server are
 * `TemporaryFailure`s; every answer, whatever its status, is returned.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type RequestOptions } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
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

/** An https agent whose connections go through a CONNECT tunnel. */
class TunnelingAgent extends HttpsAgent {
  /** Aborted by destroy(): a tunnel still being opened is given up. */
  private readonly closing = new AbortController();

  constructor(
    private readonly proxy: ProxyConfig,
    options: ConstructorParameters<typeof HttpsAgent>[0],
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
    const pinned = (options as PinnedOptions).pinnedAddress;
    const target = { host: pinned ?? options.host ?? "localhost", port: Number(options.port ?? 443) };
    const giveUp = AbortSignal.any([this.closing.signal, AbortSignal.timeout(TUNNEL_TIMEOUT_MS)]);
    openTunnel(this.proxy, target, giveUp).then(
      (socket) => callback?.(null, connectTls({ ...(options as ConnectionOptions), socket })),
      (error: unknown) => callback?.(error as Error, undefined as unknown as Duplex),
    );
    return undefined;
  }
}

export class Http1Client {
  private readonly https: HttpsAgent;
  private readonly http: HttpAgent;

  constructor(options: Http1ClientOptions = {}) {
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 20, ca: options.ca };
    this.https = options.proxy ? new TunnelingAgent(options.proxy, agentOptions) : new HttpsAgent(agentOptions);
    this.http = new HttpAgent({ keepAlive: true, maxSockets: options.maxSockets ?? 20 });
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
          res.on("error", (error) => reject(failure(error, request.signal)));
        },
      );
      req.on("error", (error) => reject(failure(error, request.signal)));
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

function failure(error: Error, signal: AbortSignal): unknown {
  if (signal.aborted) return signal.reason;
  if (error instanceof TemporaryFailure) return error;
  return new TemporaryFailure(`cannot reach the server: ${error.message}`, { cause: error });
}
