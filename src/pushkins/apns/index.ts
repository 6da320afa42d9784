/**
 * The APNs pushkin (`type: apns`): one long-lived HTTP/2 connection to Apple per app, token (ES256 JWT) or
 * certificate authentication, Sygnal's payloads, and Apple's answers classified as design.md says.
 */
import { randomUUID } from "node:crypto";
import { Http2Origin, type Http2Response } from "../../core/http2Origin.js";
import { signJwt } from "../../core/jwt.js";
import { isJsonObject, type Device, type Notification } from "../../core/notification.js";
import {
  PermanentFailure,
  TemporaryFailure,
  type DeviceOutcome,
  type DispatchContext,
  type Pushkin,
  type PushkinSetup,
} from "../../core/pushkin.js";
import { RefreshingToken } from "../../core/refreshingToken.js";
import { logRetries, parseRetryAfter, withRetries, type RetryPolicy } from "../../core/retry.js";
import { shortPushkey } from "../../observability/logger.js";
import { classifyApnsAnswer, reasonOf } from "./answer.js";
import { base64PushkeyToHex } from "./deviceToken.js";
import { apnsMetrics, type ApnsMetrics } from "./metrics.js";
import { apnsPriority, buildApnsPayload } from "./payload.js";
import { readApnsSettings, type ApnsSettings } from "./settings.js";
import { encodeApnsPayload, PayloadTooLarge } from "./truncate.js";

const MINUTE = 60_000;
/** Apple refuses a JWT older than 60 minutes and punishes renewing it more often than every 20. */
const JWT_RENEW_AFTER = 50 * MINUTE;
const JWT_MIN_AGE = 20 * MINUTE;
const RETRY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 2000 };

export function createApnsPushkin(setup: PushkinSetup, options: { now?: () => number } = {}): ApnsPushkin {
  return new ApnsPushkin(setup, readApnsSettings(setup.config, setup.configDir), options.now ?? Date.now);
}

export class ApnsPushkin implements Pushkin {
  readonly name: string;
  private readonly origin: Http2Origin;
  private readonly jwt: RefreshingToken<string> | undefined;
  private readonly metrics: ApnsMetrics;

  constructor(
    setup: PushkinSetup,
    private readonly settings: ApnsSettings,
    now: () => number,
  ) {
    this.name = setup.name;
    this.metrics = apnsMetrics(setup.metrics);
    const { auth } = settings;
    this.origin = new Http2Origin({
      origin: settings.endpoint,
      ca: settings.ca,
      ...(auth.kind === "certificate" ? { cert: auth.certPem, key: auth.keyPem } : {}),
      proxy: setup.proxy,
      log: setup.log,
    });
    if (auth.kind === "token") {
      this.jwt = new RefreshingToken({
        now,
        minAgeMs: JWT_MIN_AGE,
        issue: () => {
          const issuedAt = now();
          const value = signJwt(
            "ES256",
            auth.key,
            { iss: auth.teamId, iat: Math.floor(issuedAt / 1000) },
            { kid: auth.keyId },
          );
          return { value, renewAt: issuedAt + JWT_RENEW_AFTER };
        },
      });
    } else {
      this.metrics.certificateExpiry.labels(this.name).set(auth.notAfter.getTime() / 1000);
      const daysLeft = (auth.notAfter.getTime() - now()) / (24 * 60 * MINUTE);
      if (daysLeft < 30) {
        setup.log.warn({ not_after: auth.notAfter.toISOString() }, "The APNs certificate expires within 30 days");
      }
    }
  }

  async dispatch(n: Notification, device: Device, ctx: DispatchContext): Promise<DeviceOutcome> {
    if (device.data && "default_payload" in device.data && !isJsonObject(device.data.default_payload)) {
      return { kind: "rejected", why: "its data.default_payload is not an object" };
    }
    const token = this.settings.convertDeviceTokenToHex ? base64PushkeyToHex(device.pushkey) : device.pushkey;
    if (!token) {
      return {
        kind: "rejected",
        why: "its pushkey is not a base64 APNs token (convert_device_token_to_hex is on: is it hex, or an FCM token?)",
      };
    }
    const payload = buildApnsPayload(n, device, { sendBadgeCounts: this.settings.sendBadgeCounts });
    if (!payload) return { kind: "skipped", why: "nothing to send: no alert and no badge" };
    let body: string;
    try {
      body = encodeApnsPayload(payload);
    } catch (error) {
      if (error instanceof PayloadTooLarge) throw new PermanentFailure(error.message);
      throw error;
    }

    // Bound only when there is something to say: most pushes log nothing at info.
    const log = () => ctx.log.child({ pushkin: this.name, pushkey: shortPushkey(device.pushkey) });
    return withRetries(RETRY, { ...ctx, onRetry: logRetries(log) }, async (attempt) => {
      let answer = await this.send(token, body, n, ctx, attempt);
      let verdict = classifyApnsAnswer(answer.status, reasonOf(answer.body));
      if (verdict.kind === "renew-token" && this.jwt?.renew()) {
        log().info("APNs says the JWT expired; signing a new one");
        answer = await this.send(token, body, n, ctx, attempt);
        verdict = classifyApnsAnswer(answer.status, reasonOf(answer.body));
      }
      switch (verdict.kind) {
        case "delivered":
          return { kind: "delivered" };
        case "rejected":
          log().info({ status: answer.status }, `APNs token was rejected: ${verdict.why}`);
          return { kind: "rejected", why: verdict.why };
        case "retry":
          throw new TemporaryFailure(verdict.why, { retryAfter: parseRetryAfter(answer.headers["retry-after"]) });
        case "renew-token":
          throw new PermanentFailure(
            "APNs answered 403 ExpiredProviderToken to a JWT less than 20 minutes old: is this machine's clock right?",
          );
        case "configuration-error":
          log().error({ status: answer.status }, `APNs refused the request: ${verdict.why} (a configuration problem)`);
          throw new PermanentFailure(verdict.why);
      }
    });
  }

  async close(): Promise<void> {
    await this.origin.close();
  }

  private async send(
    token: string,
    body: string,
    n: Notification,
    ctx: DispatchContext,
    attempt: number,
  ): Promise<Http2Response> {
    const apnsId = randomUUID();
    const headers: Record<string, string> = {
      "apns-id": apnsId,
      "apns-topic": this.settings.topic,
      "apns-priority": apnsPriority(n),
      "content-type": "application/json",
    };
    if (this.settings.pushType) headers["apns-push-type"] = this.settings.pushType;
    if (this.jwt) headers.authorization = `bearer ${await this.jwt.get()}`;
    ctx.log.debug(
      { pushkin: this.name, attempt, apns_id: apnsId, room_id: n.room_id, event_id: n.event_id },
      "Sending to APNs",
    );

    const { activeRequests, requestTime, statusCodes } = this.metrics;
    activeRequests.inc();
    const stopTimer = requestTime.startTimer();
    try {
      const answer = await this.origin.request({
        method: "POST",
        path: `/3/device/${token}`,
        headers,
        body,
        signal: ctx.signal,
      });
      statusCodes.labels(this.name, String(answer.status)).inc();
      return answer;
    } finally {
      stopTimer();
      activeRequests.dec();
    }
  }
}
