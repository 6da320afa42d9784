/**
 * One Huawei app's Push Kit client: keep-alive HTTPS connections, the app's OAuth client-credentials token (renewed
 * once when Push Kit refuses it), at most `maxConnections` requests open at once, and Push Kit's answers classified as
 * design.md says, with retries inside the caller's deadline. The Matrix pushkin and push-relay's /push both send
 * through it with messages of their own.
 */
import type { Registry } from "prom-client";
import type { ProxyConfig } from "../../config/proxy.js";
import { Http1Client } from "../../core/http1Client.js";
import type { OAuthToken } from "../../core/oauthToken.js";
import { deliverWithRetries, rejectUnsent } from "../../core/providerDelivery.js";
import type { Delivery, DeliveryContext } from "../../core/pushkin.js";
import { RequestLimiter } from "../../core/requestLimiter.js";
import { parseRetryAfter } from "../../core/retry.js";
import { classifyHmsAnswer, type HmsVerdict } from "./answer.js";
import { hmsMetrics } from "./metrics.js";
import { hmsAccessToken } from "./oauth.js";

const NAMES = { provider: "HMS", recipient: "HMS token" };
const CREDENTIALS_FIX =
  "check app_id, client_id and client_secret against AppGallery Connect (Project settings, App information)";
/** 80300002: the app may not send; Push Kit is not enabled for it, or it is suspended. */
const FORBIDDEN = "80300002";

export interface HmsCredentials {
  /** The app id of the push URL (`/v1/{appId}/messages:send`). */
  appId: string;
  clientId: string;
  clientSecret: string;
  /** Push Kit's base URL. */
  endpoint: string;
  tokenEndpoint: string;
}

export interface HmsClientOptions extends HmsCredentials {
  /** The metrics label (an app's config key). */
  name: string;
  ca: Buffer | undefined;
  proxy: ProxyConfig | undefined;
  maxConnections: number;
  metrics: Registry;
}

/** One exchange with Push Kit, classified. */
export type HmsReply = HmsVerdict & { status: number; code: string | undefined; retryAfter: number | undefined };

export class HmsClient {
  private readonly http: Http1Client;
  private readonly requests: RequestLimiter;
  private readonly auth: OAuthToken;
  private readonly url: string;

  constructor(options: HmsClientOptions) {
    this.http = new Http1Client({ ca: options.ca, proxy: options.proxy, maxSockets: options.maxConnections });
    this.requests = new RequestLimiter(options.maxConnections, options.name, hmsMetrics(options.metrics));
    this.auth = hmsAccessToken(options, this.http);
    this.url = `${options.endpoint}/v1/${encodeURIComponent(options.appId)}/messages:send`;
  }

  /**
   * Sends a `{"message": …}` body for one token until Push Kit delivers, rejects the token, or refuses for good,
   * within the deadline.
   */
  deliver(body: string, token: string, ctx: DeliveryContext): Promise<Delivery> {
    // An empty token names no device: Push Kit answers it as illegal parameters, which would read as the app's own
    // error. It is a bad token, as push-relay's clients and pushers see it.
    if (token === "") return rejectUnsent(NAMES, ctx, "the registration token is empty");
    return deliverWithRetries(NAMES, ctx, async () => {
      const reply = await this.send(body, token, ctx);
      const answer = { status: reply.status, reason: reply.code };
      switch (reply.kind) {
        case "delivered":
          return { kind: "delivered", answer };
        case "rejected":
          return { kind: "rejected", why: reply.why, answer };
        case "retry":
          return { kind: "retry", why: reply.why, retryAfter: reply.retryAfter, answer };
        case "renew-token":
          return {
            kind: "credentials",
            why: `${reply.why} (also with a new access token)`,
            fix: CREDENTIALS_FIX,
            answer,
          };
        case "fail":
          if (reply.code === FORBIDDEN)
            return {
              kind: "credentials",
              why: `Push Kit refused the app: ${reply.why}`,
              fix: "enable Push Kit for the app in AppGallery Connect (Grow, Push Kit), and check the app is not suspended",
              answer,
            };
          return { kind: "fail", why: reply.why, answer };
      }
    });
  }

  /** One exchange; an access token Push Kit refuses (80200001, 80200003) is replaced once. */
  async send(body: string, token: string, ctx: DeliveryContext): Promise<HmsReply> {
    const reply = await this.exchange(body, token, ctx);
    if (reply.kind !== "renew-token") return reply;
    ctx.log().info(`${reply.why}; fetching a new access token`);
    this.auth.renew();
    return this.exchange(body, token, ctx);
  }

  close(): void {
    this.http.close();
  }

  private async exchange(body: string, token: string, ctx: DeliveryContext): Promise<HmsReply> {
    const accessToken = await this.auth.get();
    const answer = await this.requests.run(ctx.signal, () =>
      this.http.request({
        url: this.url,
        method: "POST",
        headers: {
          authorization: `Bearer ${accessToken}`,
          "content-type": "application/json; charset=UTF-8",
          "user-agent": "herald",
        },
        body,
        signal: ctx.signal,
      }),
    );
    return {
      ...classifyHmsAnswer(answer.status, answer.body, token),
      status: answer.status,
      retryAfter: parseRetryAfter(answer.headers["retry-after"]),
    };
  }
}
