/**
 * One Firebase project's FCM HTTP v1 client: a long-lived HTTP/2 connection, the service account's OAuth token
 * (renewed once when FCM answers 401), at most `maxConnections` requests open at once, and FCM's answers classified
 * as design.md says, with retries inside the caller's deadline. The Matrix pushkin, push-relay's /push and the
 * WalletConnect API all send through it with messages of their own.
 */
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { ProxyConfig } from "../../config/proxy.js";
import { Http1Client } from "../../core/http1Client.js";
import { Http2Origin } from "../../core/http2Origin.js";
import type { OAuthToken } from "../../core/oauthToken.js";
import { deliverWithRetries } from "../../core/providerDelivery.js";
import type { Delivery, DeliveryContext } from "../../core/pushkin.js";
import { RequestLimiter } from "../../core/requestLimiter.js";
import { parseRetryAfter } from "../../core/retry.js";
import { classifyV1Answer, type FcmVerdict } from "./answer.js";
import { googleAccessToken } from "./googleAuth.js";
import { fcmMetrics } from "./metrics.js";
import type { ServiceAccount } from "./settings.js";

const NAMES = { provider: "FCM", recipient: "FCM token" };
const RIGHTS_FIX =
  "give the service account the role Firebase Cloud Messaging API Admin in project_id's Google Cloud project, and enable the Firebase Cloud Messaging API there";
/** FCM asks for at least a minute before retrying a 429 that gave no Retry-After. */
const QUOTA_RETRY_AFTER_S = 60;

export interface FcmV1ClientOptions {
  /** The metrics label (an app's config key). */
  name: string;
  /** FCM's base URL; a path prefix is kept (a proxy that serves FCM under a path). */
  endpoint: string;
  projectId: string;
  serviceAccount: ServiceAccount;
  ca: Buffer | undefined;
  proxy: ProxyConfig | undefined;
  maxConnections: number;
  metrics: Registry;
  log: Logger;
}

/** One exchange with FCM, classified. */
export type FcmV1Reply = FcmVerdict & { status: number; code: string | undefined; retryAfter: number | undefined };

export class FcmV1Client {
  private readonly http2: Http2Origin;
  /** For the OAuth token endpoint. */
  private readonly http1: Http1Client;
  private readonly auth: OAuthToken;
  private readonly requests: RequestLimiter;
  private readonly path: string;

  constructor(options: FcmV1ClientOptions) {
    const endpoint = new URL(options.endpoint);
    const basePath = endpoint.pathname.replace(/\/+$/, "");
    this.path = `${basePath}/v1/projects/${encodeURIComponent(options.projectId)}/messages:send`;
    this.http2 = new Http2Origin({ origin: endpoint.origin, ca: options.ca, proxy: options.proxy, log: options.log });
    this.http1 = new Http1Client({ ca: options.ca, proxy: options.proxy, maxSockets: 2 });
    this.auth = googleAccessToken(options.serviceAccount, this.http1);
    this.requests = new RequestLimiter(options.maxConnections, options.name, fcmMetrics(options.metrics));
  }

  /** Sends a `{"message": …}` body until FCM delivers, rejects the token, or refuses for good, within the deadline. */
  deliver(body: string, ctx: DeliveryContext): Promise<Delivery> {
    return deliverWithRetries(NAMES, ctx, async () => {
      const reply = await this.send(body, ctx);
      const answer = { status: reply.status, reason: reply.code };
      switch (reply.kind) {
        case "delivered":
          return { kind: "delivered", answer };
        case "rejected":
          return { kind: "rejected", why: reply.why, answer };
        case "retry": {
          const retryAfter = reply.retryAfter ?? (reply.status === 429 ? QUOTA_RETRY_AFTER_S : undefined);
          return { kind: "retry", why: reply.why, retryAfter, answer };
        }
        case "renew-token":
          return { kind: "credentials", why: `${reply.why} (also with a new access token)`, fix: RIGHTS_FIX, answer };
        case "fail":
          // 403 SENDER_ID_MISMATCH is a token of another project; any other 403 is the service account's rights.
          if (reply.status === 403 && reply.code !== "SENDER_ID_MISMATCH")
            return {
              kind: "credentials",
              why: `FCM refused the service account: ${reply.why}`,
              fix: RIGHTS_FIX,
              answer,
            };
          return { kind: "fail", why: reply.why, answer };
      }
    });
  }

  /** One exchange; an access token FCM refuses (401) is replaced once. */
  async send(body: string, ctx: DeliveryContext): Promise<FcmV1Reply> {
    const reply = await this.exchange(body, ctx);
    if (reply.kind !== "renew-token") return reply;
    ctx.log().info(`${reply.why}; fetching a new access token`);
    this.auth.renew();
    return this.exchange(body, ctx);
  }

  async close(): Promise<void> {
    await this.http2.close();
    this.http1.close();
  }

  private async exchange(body: string, ctx: DeliveryContext): Promise<FcmV1Reply> {
    const token = await this.auth.get();
    const answer = await this.requests.run(ctx.signal, () =>
      this.http2.request({
        method: "POST",
        path: this.path,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "user-agent": "herald" },
        body,
        signal: ctx.signal,
      }),
    );
    return {
      ...classifyV1Answer(answer.status, answer.body),
      status: answer.status,
      retryAfter: parseRetryAfter(answer.headers["retry-after"]),
    };
  }
}
