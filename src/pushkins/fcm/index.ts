/**
 * The FCM pushkin (`type: gcm`): HTTP v1 over one long-lived HTTP/2 connection with a service account's OAuth token,
 * or the legacy API (one request per notification, as Sygnal batches it). Sygnal's payloads; FCM's answers classified
 * as design.md says; at most `max_connections` requests open at once.
 */
import { Http1Client } from "../../core/http1Client.js";
import { Http2Origin } from "../../core/http2Origin.js";
import type { OAuthToken } from "../../core/oauthToken.js";
import type { Device, JsonObject, Notification } from "../../core/notification.js";
import {
  PermanentFailure,
  TemporaryFailure,
  type DeviceOutcome,
  type DispatchContext,
  type Pushkin,
  type PushkinSetup,
} from "../../core/pushkin.js";
import { logRetries, parseRetryAfter, withRetries, type RetryPolicy } from "../../core/retry.js";
import { RequestLimiter } from "../../core/requestLimiter.js";
import { shortPushkey } from "../../observability/logger.js";
import { classifyV1Answer, LEGACY_BAD_MESSAGE, LEGACY_DEAD_TOKEN, type FcmVerdict } from "./answer.js";
import { googleAccessToken } from "./googleAuth.js";
import { LegacyBatcher, type BatchEntry } from "./legacyBatch.js";
import { fcmMetrics, type FcmMetrics } from "./metrics.js";
import { buildFcmData, legacyBody, v1Body } from "./payload.js";
import { readFcmSettings, type FcmSettings } from "./settings.js";

const RETRY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 2000 };
/** FCM asks for at least a minute before retrying a 429 that gave no Retry-After. */
const QUOTA_RETRY_AFTER_S = 60;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export function createFcmPushkin(setup: PushkinSetup): FcmPushkin {
  const settings = readFcmSettings(setup.config, setup.configDir);
  for (const warning of settings.warnings) setup.log.warn(warning);
  return new FcmPushkin(setup, settings);
}

export class FcmPushkin implements Pushkin {
  readonly name: string;
  private readonly metrics: FcmMetrics;
  private readonly requests: RequestLimiter;
  private readonly http1: Http1Client;
  private readonly http2: Http2Origin | undefined;
  private readonly auth: OAuthToken | undefined;
  private readonly basePath: string;
  private readonly batcher = new LegacyBatcher<
    Notification,
    { data: JsonObject; n: Notification; ctx: DispatchContext }
  >((entries) => this.sendLegacyBatch(entries));

  constructor(
    setup: PushkinSetup,
    private readonly settings: FcmSettings,
  ) {
    this.name = setup.name;
    this.metrics = fcmMetrics(setup.metrics);
    this.requests = new RequestLimiter(settings.maxConnections, this.name, this.metrics);
    this.http1 = new Http1Client({ ca: settings.ca, proxy: setup.proxy, maxSockets: settings.maxConnections });
    const endpoint = new URL(settings.endpoint);
    this.basePath = endpoint.pathname.replace(/\/+$/, "");
    if (settings.api === "v1") {
      this.http2 = new Http2Origin({ origin: endpoint.origin, ca: settings.ca, proxy: setup.proxy, log: setup.log });
      this.auth = googleAccessToken(settings.serviceAccount, this.http1);
    }
  }

  async dispatch(n: Notification, device: Device, ctx: DispatchContext): Promise<DeviceOutcome> {
    const built = buildFcmData(n, device, this.settings.api, this.settings.sendBadgeCounts);
    if (built.kind === "bad-default-payload")
      return { kind: "rejected", why: "its data.default_payload is not an object" };
    if (built.kind === "nothing") return { kind: "skipped", why: "nothing to send: no event and no counts" };
    if (this.settings.api === "legacy") return this.batcher.join(n, device.pushkey, { data: built.data, n, ctx });

    const body = JSON.stringify(v1Body(built.data, this.settings.fcmOptions, n, device.pushkey));
    const log = () => ctx.log.child({ pushkin: this.name, pushkey: shortPushkey(device.pushkey) });
    return withRetries(RETRY, { ...ctx, onRetry: logRetries(log) }, async () => {
      let verdict = await this.sendV1(body, ctx);
      if (verdict.kind === "renew-token") {
        log().info(`${verdict.why}; fetching a new access token`);
        this.auth!.renew();
        verdict = await this.sendV1(body, ctx);
      }
      return outcomeOf(verdict, log);
    });
  }

  async close(): Promise<void> {
    await this.http2?.close();
    this.http1.close();
  }

  private async sendV1(body: string, ctx: DispatchContext): Promise<FcmVerdict & { retryAfter?: number }> {
    const settings = this.settings as Extract<FcmSettings, { api: "v1" }>;
    const token = await this.auth!.get();
    const answer = await this.requests.run(ctx.signal, () =>
      this.http2!.request({
        method: "POST",
        path: `${this.basePath}/v1/projects/${encodeURIComponent(settings.projectId)}/messages:send`,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "user-agent": "herald" },
        body,
        signal: ctx.signal,
      }),
    );
    const verdict = classifyV1Answer(answer.status, answer.body);
    return { ...verdict, retryAfter: retryAfterOf(answer) };
  }

  private async sendLegacyBatch(
    entries: BatchEntry<{ data: JsonObject; n: Notification; ctx: DispatchContext }>[],
  ): Promise<void> {
    const { data, n, ctx } = entries[0]!.details;
    const settings = this.settings as Extract<FcmSettings, { api: "legacy" }>;
    let remaining = [...new Set(entries.map((e) => e.pushkey))];
    const settle = (pushkey: string, outcome: DeviceOutcome) =>
      entries.filter((e) => e.pushkey === pushkey).forEach((e) => e.resolve(outcome));
    const log = () => ctx.log.child({ pushkin: this.name, devices: entries.length });

    await withRetries(RETRY, { ...ctx, onRetry: logRetries(log) }, async () => {
      const answer = await this.requests.run(ctx.signal, () =>
        this.http1.request({
          url: `${this.settings.endpoint}/fcm/send`,
          method: "POST",
          headers: {
            authorization: `key=${settings.apiKey}`,
            "content-type": "application/json",
            "user-agent": "herald",
          },
          body: JSON.stringify(legacyBody(data, this.settings.fcmOptions, n, remaining)),
          signal: ctx.signal,
        }),
      );
      const what = `FCM answered ${answer.status}`;
      if (answer.status === 404) {
        for (const pushkey of remaining) settle(pushkey, { kind: "rejected", why: what });
        return;
      }
      if (answer.status >= 500 || answer.status === 429) {
        throw new TemporaryFailure(what, { retryAfter: retryAfterOf(answer) });
      }
      if (answer.status < 200 || answer.status >= 300) {
        throw new PermanentFailure(answer.status === 401 ? `${what}: not authorised to push (check api_key)` : what);
      }
      const results = legacyResults(answer.body);
      const retry: string[] = [];
      remaining.forEach((pushkey, i) => {
        const error = results[i]?.error;
        if (error === undefined) settle(pushkey, { kind: "delivered" });
        else if (LEGACY_DEAD_TOKEN.has(error)) settle(pushkey, { kind: "rejected", why: `FCM said ${error}` });
        else if (LEGACY_BAD_MESSAGE.has(error))
          settle(pushkey, { kind: "skipped", why: `FCM refused the message: ${error}` });
        else retry.push(pushkey);
      });
      remaining = retry;
      if (retry.length > 0) throw new TemporaryFailure(`FCM could not deliver to ${retry.length} device(s) yet`);
    });
  }
}

function outcomeOf(verdict: FcmVerdict & { retryAfter?: number }, log: () => DispatchContext["log"]): DeviceOutcome {
  switch (verdict.kind) {
    case "delivered":
      return { kind: "delivered" };
    case "rejected":
      log().info(`FCM token was rejected: ${verdict.why}`);
      return { kind: "rejected", why: verdict.why };
    case "retry": {
      const quota = /^FCM answered 429/.test(verdict.why);
      throw new TemporaryFailure(verdict.why, {
        retryAfter: verdict.retryAfter ?? (quota ? QUOTA_RETRY_AFTER_S : undefined),
      });
    }
    case "renew-token":
      throw new PermanentFailure(`${verdict.why} (also with a new access token: check the service account's rights)`);
    case "fail":
      log().error(`FCM refused the request: ${verdict.why}`);
      throw new PermanentFailure(verdict.why);
  }
}

function retryAfterOf(answer: Answer): number | undefined {
  return parseRetryAfter(answer.headers["retry-after"]);
}

function legacyResults(body: Buffer): { error?: string }[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw new PermanentFailure("Invalid JSON response from FCM");
  }
  const results = (parsed as { results?: unknown }).results;
  if (!Array.isArray(results)) throw new PermanentFailure("FCM's answer has no results");
  return results.map((r: unknown) => (typeof r === "object" && r !== null ? (r as { error?: string }) : {}));
}
