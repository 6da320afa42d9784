/**
 * The FCM pushkin (`type: gcm`): Sygnal's payloads, sent over HTTP v1 through the app's FCM v1 client (one long-lived
 * HTTP/2 connection, a service account's OAuth token), or over the legacy API (one request per notification, as
 * Sygnal batches it). FCM's answers classified as design.md says; at most `max_connections` requests open at once.
 */
import { deliveryContext } from "../../core/deliveryContext.js";
import { Http1Client } from "../../core/http1Client.js";
import type { Device, JsonObject, Notification } from "../../core/notification.js";
import {
  CredentialFailure,
  PermanentFailure,
  TemporaryFailure,
  type DeviceOutcome,
  type DispatchContext,
  type Pushkin,
  type PushkinSetup,
} from "../../core/pushkin.js";
import { logRetries, parseRetryAfter, withRetries, type RetryPolicy } from "../../core/retry.js";
import { RequestLimiter } from "../../core/requestLimiter.js";
import { LEGACY_BAD_MESSAGE, LEGACY_DEAD_TOKEN } from "./answer.js";
import { LegacyBatcher, type BatchEntry } from "./legacyBatch.js";
import { fcmMetrics } from "./metrics.js";
import { buildFcmData, legacyBody, v1Body } from "./payload.js";
import { readFcmSettings, type FcmSettings } from "./settings.js";
import { FcmV1Client } from "./v1Client.js";

const RETRY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 2000 };

export function createFcmPushkin(setup: PushkinSetup): FcmPushkin {
  const settings = readFcmSettings(setup.config, setup.configDir);
  for (const warning of settings.warnings) setup.log.warn(warning);
  return new FcmPushkin(setup, settings);
}

export class FcmPushkin implements Pushkin {
  readonly name: string;
  /** HTTP v1 only; also used by the WalletConnect API for the apps it is told to send through. */
  readonly v1: FcmV1Client | undefined;
  private readonly legacy: { http: Http1Client; requests: RequestLimiter; apiKey: string } | undefined;
  private readonly batcher = new LegacyBatcher<
    Notification,
    { data: JsonObject; n: Notification; ctx: DispatchContext }
  >((entries) => this.sendLegacyBatch(entries));

  constructor(
    setup: PushkinSetup,
    readonly settings: FcmSettings,
  ) {
    this.name = setup.name;
    if (settings.api === "v1") {
      this.v1 = new FcmV1Client({
        name: setup.name,
        endpoint: settings.endpoint,
        projectId: settings.projectId,
        serviceAccount: settings.serviceAccount,
        ca: settings.ca,
        proxy: setup.proxy,
        maxConnections: settings.maxConnections,
        metrics: setup.metrics,
        log: setup.log,
      });
    } else {
      this.legacy = {
        http: new Http1Client({ ca: settings.ca, proxy: setup.proxy, maxSockets: settings.maxConnections }),
        requests: new RequestLimiter(settings.maxConnections, this.name, fcmMetrics(setup.metrics)),
        apiKey: settings.apiKey,
      };
    }
  }

  async dispatch(n: Notification, device: Device, ctx: DispatchContext): Promise<DeviceOutcome> {
    const built = buildFcmData(n, device, this.settings.api, this.settings.sendBadgeCounts);
    if (built.kind === "bad-default-payload")
      return { kind: "rejected", why: "its data.default_payload is not an object" };
    if (built.kind === "nothing") return { kind: "skipped", why: "nothing to send: no event and no counts" };
    if (!this.v1) return this.batcher.join(n, device.pushkey, { data: built.data, n, ctx });

    const body = JSON.stringify(v1Body(built.data, this.settings.fcmOptions, n, device.pushkey));
    return this.v1.deliver(body, deliveryContext(ctx, this.name, device.pushkey));
  }

  async close(): Promise<void> {
    await this.v1?.close();
    this.legacy?.http.close();
  }

  private async sendLegacyBatch(
    entries: BatchEntry<{ data: JsonObject; n: Notification; ctx: DispatchContext }>[],
  ): Promise<void> {
    const { data, n, ctx } = entries[0]!.details;
    const { http, requests, apiKey } = this.legacy!;
    let remaining = [...new Set(entries.map((e) => e.pushkey))];
    const settle = (pushkey: string, outcome: DeviceOutcome) =>
      entries.filter((e) => e.pushkey === pushkey).forEach((e) => e.resolve(outcome));
    const log = () => ctx.log.child({ pushkin: this.name, devices: entries.length });

    await withRetries(RETRY, { ...ctx, onRetry: logRetries(log) }, async () => {
      const answer = await requests.run(ctx.signal, () =>
        http.request({
          url: `${this.settings.endpoint}/fcm/send`,
          method: "POST",
          headers: {
            authorization: `key=${apiKey}`,
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
        throw new TemporaryFailure(what, {
          retryAfter: parseRetryAfter(answer.headers["retry-after"]),
          answer: { status: answer.status },
        });
      }
      if (answer.status < 200 || answer.status >= 300) {
        if (answer.status === 401)
          throw new CredentialFailure(`${what}: not authorised to push`, {
            fix: "check api_key (the legacy server key); Google shut the legacy API down in 2024: move to api_version: v1",
            answer: { status: answer.status },
          });
        throw new PermanentFailure(what, { answer: { status: answer.status } });
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
