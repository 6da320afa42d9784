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
import {
  CredentialFailure,
  PermanentFailure,
  TemporaryFailure,
  type Delivery,
  type DeliveryContext,
} from "../../core/pushkin.js";
import { RequestLimiter } from "../../core/requestLimiter.js";
import { logRetries, parseRetryAfter, withRetries, type RetryPolicy } from "../../core/retry.js";
import { classifyV1Answer, type FcmVerdict } from "./answer.js";
import { googleAccessToken } from "./googleAuth.js";
import { fcmMetrics } from "./metrics.js";
import type { ServiceAccount } from "./settings.js";

const RETRY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 2000 };
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
    return withRetries(RETRY, { ...ctx, onRetry: logRetries(ctx.log) }, async () => {
      const reply = await this.send(body, ctx);
      const answer = { status: reply.status, reason: reply.code };
      switch (reply.kind) {
        case "delivered":
          return { kind: "delivered" };
        case "rejected":
          ctx.log().info(`FCM token was rejected: ${reply.why}`);
          return { kind: "rejected", why: reply.why };
        case "retry":
          throw new TemporaryFailure(reply.why, {
            retryAfter: reply.retryAfter ?? (reply.status === 429 ? QUOTA_RETRY_AFTER_S : undefined),
            answer,
          });
        case "renew-token":
          throw new CredentialFailure(`${reply.why} (also with a new access token)`, { fix: RIGHTS_FIX, answer });
        case "fail":
          // 403 SENDER_ID_MISMATCH is a token of another project; any other 403 is the service account's rights.
          if (reply.status === 403 && reply.code !== "SENDER_ID_MISMATCH")
            throw new CredentialFailure(`FCM refused the service account: ${reply.why}`, { fix: RIGHTS_FIX, answer });
          ctx.log().error(`FCM refused the request: ${reply.why}`);
          throw new PermanentFailure(reply.why, { answer });
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
