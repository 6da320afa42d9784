/**
 * The Threema Gateway pushkin (`type: threema`): a message in end-to-end mode from the app's gateway ID to the
 * Threema user the pusher names, which only that user's phone can decrypt. The pushkey is the user's Threema ID and
 * `data.public_key` their public key; the message is the FCM v1 pushkin's data map, as push-relay frames its own.
 * Answers are classified as the design says: 400 rejects, 401/402/413 are the operator's to fix, 429/5xx are retried.
 */
import type { Device, Notification } from "../../core/notification.js";
import {
  PermanentFailure,
  TemporaryFailure,
  type DeviceOutcome,
  type DispatchContext,
  type Pushkin,
  type PushkinSetup,
} from "../../core/pushkin.js";
import { logRetries, withRetries, type RetryPolicy } from "../../core/retry.js";
import { shortPushkey } from "../../observability/logger.js";
import { buildFcmData, stringValues } from "../fcm/payload.js";
import { classifyThreemaAnswer } from "./answer.js";
import { ThreemaGatewayClient } from "./client.js";
import { isThreemaUserId, parsePublicKeyHex } from "./recipient.js";
import { readThreemaSettings, type ThreemaSettings } from "./settings.js";

const RETRY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 2000 };

export function createThreemaPushkin(setup: PushkinSetup): ThreemaPushkin {
  return new ThreemaPushkin(setup, readThreemaSettings(setup.config, setup.configDir));
}

export class ThreemaPushkin implements Pushkin {
  readonly name: string;
  private readonly gateway: ThreemaGatewayClient;

  constructor(
    setup: PushkinSetup,
    private readonly settings: ThreemaSettings,
  ) {
    this.name = setup.name;
    this.gateway = new ThreemaGatewayClient({
      endpoint: settings.endpoint,
      identity: settings.identity,
      secret: settings.secret,
      privateKey: settings.privateKey,
      maxConnections: settings.maxConnections,
      ca: settings.ca,
      proxy: setup.proxy,
      metrics: setup.metrics,
      label: setup.name,
    });
  }

  async dispatch(n: Notification, device: Device, ctx: DispatchContext): Promise<DeviceOutcome> {
    if (!isThreemaUserId(device.pushkey)) {
      return { kind: "rejected", why: "its pushkey is not a Threema ID (8 digits or capitals, the first not '*')" };
    }
    const publicKey = parsePublicKeyHex(device.data?.public_key);
    if (publicKey === undefined) {
      return { kind: "rejected", why: "its data.public_key is not a Threema public key (64 hex characters)" };
    }
    const built = buildFcmData(n, device, "v1", this.settings.sendBadgeCounts);
    if (built.kind === "bad-default-payload")
      return { kind: "rejected", why: "its data.default_payload is not an object" };
    if (built.kind === "nothing") return { kind: "skipped", why: "nothing to send: no event and no counts" };
    const sealed = this.gateway.seal(publicKey, stringValues(built.data));
    if (sealed === undefined) {
      return {
        kind: "rejected",
        why: "its data.public_key is a degenerate X25519 key that nothing can be encrypted for",
      };
    }
    const log = () => ctx.log.child({ pushkin: this.name, pushkey: shortPushkey(device.pushkey) });

    // Every try sends the same box: should a try that seemed lost have arrived after all, the repeat carries a nonce
    // the phone has already seen, and Threema apps drop such a message as a replay.
    return withRetries(RETRY, { ...ctx, onRetry: logRetries(log) }, async () => {
      const answer = await this.gateway.sendE2e(device.pushkey, sealed, ctx.signal);
      const verdict = classifyThreemaAnswer(answer.status, answer.body, answer.headers);
      switch (verdict.kind) {
        case "delivered":
          log().debug({ message_id: verdict.messageId }, "Threema Gateway accepted the message");
          return { kind: "delivered" };
        case "rejected":
          log().info(`Threema ID was rejected: ${verdict.why}`);
          return { kind: "rejected", why: verdict.why };
        case "retry":
          throw new TemporaryFailure(verdict.why, { retryAfter: verdict.retryAfter });
        case "fail":
          log().error(verdict.why);
          throw new PermanentFailure(verdict.why);
      }
    });
  }

  async close(): Promise<void> {
    this.gateway.close();
  }
}
