/**
 * The APNs pushkin (`type: apns`): Sygnal's payloads for one app, sent through the app's APNs client (one long-lived
 * HTTP/2 connection, token or certificate authentication, Apple's answers classified as design.md says).
 */
import { isJsonObject, type Device, type Notification } from "../../core/notification.js";
import {
  PermanentFailure,
  type DeviceOutcome,
  type DispatchContext,
  type Pushkin,
  type PushkinSetup,
} from "../../core/pushkin.js";
import { deliveryContext } from "../../core/deliveryContext.js";
import { ApnsClient } from "./client.js";
import { deviceTokenOf } from "./deviceToken.js";
import { apnsPriority, buildApnsPayload } from "./payload.js";
import { readApnsSettings, type ApnsSettings } from "./settings.js";
import { encodeApnsPayload, PayloadTooLarge } from "./truncate.js";

export function createApnsPushkin(setup: PushkinSetup, options: { now?: () => number } = {}): ApnsPushkin {
  return new ApnsPushkin(setup, readApnsSettings(setup.config, setup.configDir), options.now);
}

export class ApnsPushkin implements Pushkin {
  readonly name: string;
  /** Also used by the WalletConnect API for the apps it is told to send through. */
  readonly client: ApnsClient;

  constructor(
    setup: PushkinSetup,
    readonly settings: ApnsSettings,
    now?: () => number,
  ) {
    this.name = setup.name;
    this.client = new ApnsClient({
      name: setup.name,
      endpoint: settings.endpoint,
      auth: settings.auth,
      ca: settings.ca,
      proxy: setup.proxy,
      metrics: setup.metrics,
      log: setup.log,
      now,
    });
  }

  async dispatch(n: Notification, device: Device, ctx: DispatchContext): Promise<DeviceOutcome> {
    if (device.data && "default_payload" in device.data && !isJsonObject(device.data.default_payload)) {
      return { kind: "rejected", why: "its data.default_payload is not an object" };
    }
    const token = this.settings.convertDeviceTokenToHex ? deviceTokenOf(device.pushkey) : device.pushkey;
    if (token === undefined) {
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
      if (error instanceof PayloadTooLarge) throw new PermanentFailure(error.message, { publicReason: error.message });
      throw error;
    }
    const headers: Record<string, string> = { "apns-topic": this.settings.topic, "apns-priority": apnsPriority(n) };
    if (this.settings.pushType) headers["apns-push-type"] = this.settings.pushType;
    return this.client.deliver({ token, headers, body }, deliveryContext(ctx, this.name, device.pushkey));
  }

  credentialProblem() {
    return this.client.credentialProblem();
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
