/**
 * The Huawei Push Kit pushkin (`type: hms`), for Android phones without Google services. One data message per device,
 * whose data is the FCM v1 pushkin's map; an OAuth client-credentials token; Push Kit's answers classified as the
 * design says (80300007 and illegal tokens of a partial success reject; nothing else does).
 */
import { Http1Client } from "../../core/http1Client.js";
import type { OAuthToken } from "../../core/oauthToken.js";
import type { Device, Notification } from "../../core/notification.js";
import {
  PermanentFailure,
  TemporaryFailure,
  type DeviceOutcome,
  type DispatchContext,
  type Pushkin,
  type PushkinSetup,
} from "../../core/pushkin.js";
import { RequestLimiter } from "../../core/requestLimiter.js";
import { logRetries, parseRetryAfter, withRetries, type RetryPolicy } from "../../core/retry.js";
import { shortPushkey } from "../../observability/logger.js";
import { classifyHmsAnswer, type HmsVerdict } from "./answer.js";
import { hmsMetrics } from "./metrics.js";
import { hmsAccessToken } from "./oauth.js";
import { buildHmsData, hmsBody } from "./payload.js";
import { readHmsSettings, type HmsSettings } from "./settings.js";

const RETRY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 2000 };

export function createHmsPushkin(setup: PushkinSetup): HmsPushkin {
  return new HmsPushkin(setup, readHmsSettings(setup.config, setup.configDir));
}

export class HmsPushkin implements Pushkin {
  readonly name: string;
  private readonly http: Http1Client;
  private readonly requests: RequestLimiter;
  private readonly auth: OAuthToken;

  constructor(
    setup: PushkinSetup,
    private readonly settings: HmsSettings,
  ) {
    this.name = setup.name;
    this.http = new Http1Client({ ca: settings.ca, proxy: setup.proxy, maxSockets: settings.maxConnections });
    this.requests = new RequestLimiter(settings.maxConnections, this.name, hmsMetrics(setup.metrics));
    this.auth = hmsAccessToken(settings, this.http);
  }

  async dispatch(n: Notification, device: Device, ctx: DispatchContext): Promise<DeviceOutcome> {
    const built = buildHmsData(n, device, this.settings.sendBadgeCounts);
    if (built.kind === "bad-default-payload")
      return { kind: "rejected", why: "its data.default_payload is not an object" };
    if (built.kind === "nothing") return { kind: "skipped", why: "nothing to send: no event and no counts" };
    const body = JSON.stringify(hmsBody(built.data, this.settings.hmsOptions, n, device.pushkey, this.settings.ttl));
    const log = () => ctx.log.child({ pushkin: this.name, pushkey: shortPushkey(device.pushkey) });

    return withRetries(RETRY, { ...ctx, onRetry: logRetries(log) }, async () => {
      let verdict = await this.send(body, device.pushkey, ctx);
      if (verdict.kind === "renew-token") {
        log().info(`${verdict.why}; fetching a new access token`);
        this.auth.renew();
        verdict = await this.send(body, device.pushkey, ctx);
      }
      switch (verdict.kind) {
        case "delivered":
          return { kind: "delivered" };
        case "rejected":
          log().info(`HMS token was rejected: ${verdict.why}`);
          return { kind: "rejected", why: verdict.why };
        case "retry":
          throw new TemporaryFailure(verdict.why, { retryAfter: verdict.retryAfter });
        case "renew-token":
          throw new PermanentFailure(`${verdict.why} (also with a new access token: check the app's credentials)`);
        case "fail":
          log().error(`HMS refused the request: ${verdict.why}`);
          throw new PermanentFailure(verdict.why);
      }
    });
  }

  async close(): Promise<void> {
    this.http.close();
  }

  private async send(
    body: string,
    pushkey: string,
    ctx: DispatchContext,
  ): Promise<HmsVerdict & { retryAfter?: number }> {
    const token = await this.auth.get();
    const answer = await this.requests.run(ctx.signal, () =>
      this.http.request({
        url: `${this.settings.endpoint}/v1/${encodeURIComponent(this.settings.appId)}/messages:send`,
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json; charset=UTF-8",
          "user-agent": "herald",
        },
        body,
        signal: ctx.signal,
      }),
    );
    return {
      ...classifyHmsAnswer(answer.status, answer.body, pushkey),
      retryAfter: parseRetryAfter(answer.headers["retry-after"]),
    };
  }
}
