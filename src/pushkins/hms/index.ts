/**
 * The Huawei Push Kit pushkin (`type: hms`), for Android phones without Google services: one data message per device,
 * whose data is the FCM v1 pushkin's map, sent through the app's Push Kit client.
 */
import { deliveryContext } from "../../core/deliveryContext.js";
import type { Device, Notification } from "../../core/notification.js";
import type { DeviceOutcome, DispatchContext, Pushkin, PushkinSetup } from "../../core/pushkin.js";
import { HmsClient } from "./client.js";
import { buildHmsData, hmsBody } from "./payload.js";
import { readHmsSettings, type HmsSettings } from "./settings.js";

export function createHmsPushkin(setup: PushkinSetup): HmsPushkin {
  return new HmsPushkin(setup, readHmsSettings(setup.config, setup.configDir));
}

export class HmsPushkin implements Pushkin {
  readonly name: string;
  private readonly client: HmsClient;

  constructor(
    setup: PushkinSetup,
    private readonly settings: HmsSettings,
  ) {
    this.name = setup.name;
    this.client = new HmsClient({ ...settings, name: setup.name, proxy: setup.proxy, metrics: setup.metrics });
  }

  async dispatch(n: Notification, device: Device, ctx: DispatchContext): Promise<DeviceOutcome> {
    const built = buildHmsData(n, device, this.settings.sendBadgeCounts);
    if (built.kind === "bad-default-payload")
      return { kind: "rejected", why: "its data.default_payload is not an object" };
    if (built.kind === "nothing") return { kind: "skipped", why: "nothing to send: no event and no counts" };
    const body = JSON.stringify(hmsBody(built.data, this.settings.hmsOptions, n, device.pushkey, this.settings.ttl));
    return this.client.deliver(body, device.pushkey, deliveryContext(ctx, this.name, device.pushkey));
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
