/**
 * The provider clients the WalletConnect API sends through: those of the apps named in `walletconnect.providers` and
 * in each tenant's, shared with `/notify`. An app whose credentials could not be loaded at start-up is served by a stand-in pushkin;
 * its push type then fails every push with that credential problem (502), as the app's own pushes do.
 */
import { CredentialFailure, type Delivery, type DeliveryContext, type Pushkin } from "../core/pushkin.js";
import type { ApnsClient } from "../pushkins/apns/client.js";
import { ApnsPushkin } from "../pushkins/apns/index.js";
import { FcmPushkin } from "../pushkins/fcm/index.js";
import type { FcmV1Client } from "../pushkins/fcm/v1Client.js";
import { apnsPush, fcmMessage, type Cleartext } from "./payload.js";
import type { RelayMessage } from "./request.js";
import type { ProviderType, WalletConnectSettings } from "./settings.js";

export type Sender =
  | { kind: "apns"; app: string; client: ApnsClient; topic: string }
  | { kind: "fcm"; app: string; client: FcmV1Client }
  | { kind: "unusable"; app: string; problem: CredentialFailure };

/** `payload-too-large`: nothing was sent, Apple would refuse it. */
export type SendResult = Delivery | { kind: "payload-too-large" };

/** Each tenant's senders, by its registry tenant. */
export function sendersByTenant(settings: WalletConnectSettings, pushkins: readonly Pushkin[]) {
  const tenants = [settings.defaultTenant, ...(settings.tenants?.values() ?? [])];
  return new Map(tenants.map((tenant) => [tenant.registryTenant, sendersFor(tenant.providers, pushkins)]));
}

function sendersFor(providers: ReadonlyMap<ProviderType, string>, pushkins: readonly Pushkin[]) {
  const senders = new Map<ProviderType, Sender>();
  for (const [type, app] of providers) {
    const pushkin = pushkins.find((p) => p.name === app);
    if (pushkin instanceof ApnsPushkin) {
      senders.set(type, { kind: "apns", app, client: pushkin.client, topic: pushkin.settings.topic });
    } else if (pushkin instanceof FcmPushkin && pushkin.v1) {
      senders.set(type, { kind: "fcm", app, client: pushkin.v1 });
    } else {
      const problem =
        pushkin?.credentialProblem?.() ??
        new CredentialFailure(`the app '${app}' could not be loaded`, {
          fix: "check the app with `herald check-config`",
        });
      senders.set(type, { kind: "unusable", app, problem });
    }
  }
  return senders;
}

/** Sends a relay message to a device token; failures are thrown, as the provider clients throw them. */
export function send(
  sender: Sender,
  message: RelayMessage,
  cleartext: Cleartext | undefined,
  token: string,
  ctx: DeliveryContext,
): Promise<SendResult> {
  switch (sender.kind) {
    case "apns": {
      const push = apnsPush(message, cleartext, token, sender.topic);
      if (push === undefined) return Promise.resolve({ kind: "payload-too-large" });
      return sender.client.deliver(push, ctx);
    }
    case "fcm":
      return sender.client.deliver(JSON.stringify(fcmMessage(message, cleartext, token)), ctx);
    case "unusable":
      return Promise.reject(sender.problem);
  }
}
