/**
 * The WebPush pushkin (`type: webpush`): browsers' push services, reached at each subscription's own endpoint, with a
 * VAPID signature and the message encrypted for the subscription (aes128gcm, by the `web-push` library). Sygnal's
 * checks and payload; the endpoint guarded against SSRF; 404/410 reject the pushkey, 429/5xx and network failures (a
 * push service's name that does not resolve included) are retried within the deadline, any other refusal is logged
 * and counted but neither rejected nor retried. Each subscription chooses its push service, so failures there are that
 * origin's, not the app's (`deviceOrigin`, core/deviceOrigins.ts): a 401/403 is one subscription's or one push
 * service's refusal; only a key Herald cannot sign with is the app's own fault at once.
 */
import webPush from "web-push";
import { Http1Client } from "../../core/http1Client.js";
import type { Device, Notification } from "../../core/notification.js";
import {
  CredentialFailure,
  TemporaryFailure,
  type DeviceOutcome,
  type DispatchContext,
  type Pushkin,
  type PushkinSetup,
} from "../../core/pushkin.js";
import { RequestLimiter } from "../../core/requestLimiter.js";
import { logRetries, parseRetryAfter, withRetries, type RetryPolicy } from "../../core/retry.js";
import { shortPushkey } from "../../observability/logger.js";
import { checkEndpoint } from "./endpointGuard.js";
import { webPushMetrics } from "./metrics.js";
import { buildWebPushPayload, roomTopic, urgencyOf } from "./payload.js";
import { readWebPushSettings, type WebPushSettings } from "./settings.js";
import { VapidHeaders } from "./vapid.js";

const RETRY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 2000 };

/** A push ready to send: the message encrypted for the subscription, and its headers. */
interface PreparedPush {
  headers: Record<string, string>;
  body: Buffer;
}

export function createWebPushPushkin(setup: PushkinSetup): WebPushPushkin {
  return new WebPushPushkin(setup, readWebPushSettings(setup.config, setup.configDir));
}

export class WebPushPushkin implements Pushkin {
  readonly name: string;
  private readonly http: Http1Client;
  private readonly requests: RequestLimiter;
  private readonly metrics: ReturnType<typeof webPushMetrics>;
  private readonly vapid: VapidHeaders;

  constructor(
    setup: PushkinSetup,
    private readonly settings: WebPushSettings,
  ) {
    this.name = setup.name;
    this.metrics = webPushMetrics(setup.metrics);
    this.http = new Http1Client({ ca: settings.ca, proxy: setup.proxy, maxSockets: settings.maxConnections });
    this.requests = new RequestLimiter(settings.maxConnections, this.name, this.metrics);
    this.vapid = new VapidHeaders(settings.vapid, settings.subject);
  }

  async dispatch(n: Notification, device: Device, ctx: DispatchContext): Promise<DeviceOutcome> {
    const data = device.data;
    if (!data) return { kind: "rejected", why: "its pusher has no data (the WebPush subscription)" };
    if (data.events_only === true && !n.event_id) {
      return { kind: "skipped", why: "events_only: a count-only update is not pushed" };
    }
    const { endpoint, auth } = data;
    if (!device.pushkey || typeof endpoint !== "string" || typeof auth !== "string") {
      return { kind: "rejected", why: "its pusher data lacks the subscription's endpoint or auth secret" };
    }
    const log = () => ctx.log.child({ pushkin: this.name, pushkey: shortPushkey(device.pushkey) });

    let prepared: PreparedPush | undefined;
    return withRetries(RETRY, { ...ctx, onRetry: logRetries(log) }, async () => {
      // Checked at every attempt: a push service's name that does not resolve (ENOTFOUND, EAI_AGAIN) is a network
      // failure like a refused connection, retried within the deadline. An answer is cached, so a retry after a failed
      // send connects to the address already checked.
      const target = await checkEndpoint(endpoint, this.settings.endpoints);
      if (!target.ok) {
        this.metrics.refusedEndpoints.labels(this.name).inc();
        log().warn({ reason: target.why }, "WebPush endpoint refused; not sent");
        return { kind: "skipped", why: `endpoint refused: ${target.why}` };
      }
      if (!prepared) {
        const authorization = this.sign(target.url.origin);
        try {
          prepared = this.prepare(n, device, { endpoint, auth }, authorization);
        } catch (error) {
          log().warn({ reason: (error as Error).message }, "WebPush subscription keys unusable; not sent");
          return { kind: "skipped", why: `the subscription's keys are unusable: ${(error as Error).message}` };
        }
      }
      const push = prepared;

      const answer = await this.requests.run(ctx.signal, () =>
        this.http.request({
          url: endpoint,
          method: "POST",
          headers: push.headers,
          body: push.body,
          signal: ctx.signal,
          address: { address: target.address, family: target.family },
        }),
      );
      const what = `the push service answered ${answer.status}`;
      if (answer.status >= 200 && answer.status < 300) return { kind: "delivered" };
      if (answer.status === 404 || answer.status === 410) {
        log().info(`WebPush subscription is gone: ${what}`);
        return { kind: "rejected", why: what };
      }
      if (answer.status === 429 || answer.status >= 500) {
        throw new TemporaryFailure(what, { retryAfter: parseRetryAfter(answer.headers["retry-after"]) });
      }
      if (answer.status === 401 || answer.status === 403) {
        throw new CredentialFailure(
          `the push service at ${target.url.origin} refused Herald's VAPID signature: ${what}`,
          {
            fix: "check that vapid_private_key is the key the web app subscribed with (its applicationServerKey), and this machine's clock",
            answer: { status: answer.status },
          },
        );
      }
      log().warn({ status: answer.status, body: answer.body.toString("utf8").slice(0, 200) }, "WebPush push refused");
      return { kind: "skipped", why: what };
    });
  }

  /** The subscription names its push service: failures there are that origin's, not the app's. */
  deviceOrigin(device: Device): string | undefined {
    const endpoint = device.data?.endpoint;
    if (typeof endpoint !== "string") return undefined;
    try {
      const { origin } = new URL(endpoint);
      return origin === "null" ? undefined : origin;
    } catch {
      return undefined; // not a URL: the guard refuses it, nothing is sent
    }
  }

  /** The VAPID `Authorization` for a push service; a key that cannot sign is the app's own fault, whatever the origin. */
  private sign(origin: string): string {
    try {
      return this.vapid.for(origin);
    } catch (error) {
      throw new CredentialFailure(`Herald cannot sign with vapid_private_key: ${(error as Error).message}`, {
        fix: "replace vapid_private_key with an EC P-256 key (`herald vapid-keys`), and check vapid_contact_email",
        appFault: true,
        cause: error,
      });
    }
  }

  /** Encrypts the message for the subscription; throws when its keys are unusable. */
  private prepare(
    n: Notification,
    device: Device,
    { endpoint, auth }: { endpoint: string; auth: string },
    authorization: string,
  ): PreparedPush {
    const request = webPush.generateRequestDetails(
      { endpoint, keys: { p256dh: device.pushkey, auth } },
      JSON.stringify(buildWebPushPayload(n, device)),
      {
        headers: { Authorization: authorization },
        TTL: this.settings.ttl,
        urgency: urgencyOf(n),
        contentEncoding: "aes128gcm",
      },
    );
    const headers: Record<string, string> = { "user-agent": "herald" };
    for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = String(value);
    if (device.data?.only_last_per_room === true && n.room_id) headers.topic = roomTopic(n.room_id);
    return { headers, body: request.body ?? Buffer.alloc(0) };
  }

  async close(): Promise<void> {
    this.http.close();
  }
}
