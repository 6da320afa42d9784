/**
 * The Threema Gateway pushkin (`type: threema`): a message in end-to-end mode from the app's gateway ID to the
 * Threema user the pusher names, which only that user's phone can decrypt. The pushkey is the user's Threema ID and
 * `data.public_key` their public key; the message is the FCM v1 pushkin's data map, as push-relay frames its own.
 * Answers are classified as the design says: 400 rejects, 401/402/413 are the operator's to fix, 429/5xx are retried.
 */
import { deliveryContext } from "../../core/deliveryContext.js";
import type { Device, Notification } from "../../core/notification.js";
import type { DeviceOutcome, DispatchContext, Pushkin, PushkinSetup } from "../../core/pushkin.js";
import { buildFcmData, stringValues } from "../fcm/payload.js";
import { ThreemaGatewayClient } from "./client.js";
import { isThreemaUserId, parsePublicKeyHex } from "./recipient.js";
import { readThreemaSettings, type ThreemaSettings } from "./settings.js";

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
    return this.gateway.deliver(device.pushkey, sealed, deliveryContext(ctx, this.name, device.pushkey));
  }

  async close(): Promise<void> {
    this.gateway.close();
  }
}
