/**
 * The walletconnect pushkin (`type: walletconnect`): for Matrix devices whose app receives its pushes from a
 * WalletConnect-compatible push server (WalletConnect's, or a Herald serving `/clients`). Each device's notification
 * goes to `POST {endpoint}/clients/{pushkey}` as a raw relay message (payload.ts), signed with the app's ed25519 key
 * exactly as WalletConnect's relay signs. The pushkey is the wallet's client id at that server.
 *
 * Answers (answer.ts): delivered once the server took it (202, or 200 for a message it already had); rejected when it
 * says it deleted the client for a dead token; a 401 is our key refused (a credential failure); 429, 5xx and a
 * server out of reach are retried within the deadline, then 502; anything else is 502, never rejected.
 */
import { deliveryContext } from "../../core/deliveryContext.js";
import { Http1Client } from "../../core/http1Client.js";
import type { Device, Notification } from "../../core/notification.js";
import { deliverWithRetries } from "../../core/providerDelivery.js";
import type { DeviceOutcome, DispatchContext, Pushkin, PushkinSetup } from "../../core/pushkin.js";
import { RequestLimiter } from "../../core/requestLimiter.js";
import { relaySignatureHeaders } from "../../walletConnect/signature.js";
import { classifyPushServerAnswer } from "./answer.js";
import { walletConnectPushkinMetrics } from "./metrics.js";
import { relayBody } from "./payload.js";
import { readWalletConnectPushkinSettings, type WalletConnectPushkinSettings } from "./settings.js";

const NAMES = { provider: "The push server", recipient: "WalletConnect client" };

export function createWalletConnectPushkin(setup: PushkinSetup): WalletConnectPushkin {
  return new WalletConnectPushkin(setup, readWalletConnectPushkinSettings(setup.config, setup.configDir));
}

export class WalletConnectPushkin implements Pushkin {
  readonly name: string;
  private readonly http: Http1Client;
  private readonly requests: RequestLimiter;

  constructor(
    setup: PushkinSetup,
    private readonly settings: WalletConnectPushkinSettings,
  ) {
    this.name = setup.name;
    this.http = new Http1Client({ ca: settings.ca, proxy: setup.proxy, maxSockets: settings.maxConnections });
    this.requests = new RequestLimiter(settings.maxConnections, setup.name, walletConnectPushkinMetrics(setup.metrics));
  }

  async dispatch(n: Notification, device: Device, ctx: DispatchContext): Promise<DeviceOutcome> {
    const built = relayBody(n, device, this.settings.tag, this.settings.sendBadgeCounts);
    if (built.kind === "bad-default-payload") {
      return { kind: "rejected", why: "its data.default_payload is not an object" };
    }
    if (built.kind === "nothing") return { kind: "skipped", why: "nothing to send: no event and no counts" };
    const delivery = deliveryContext(ctx, this.name, device.pushkey);
    const url = `${this.settings.endpoint}/clients/${encodeURIComponent(device.pushkey)}`;
    return deliverWithRetries(NAMES, delivery, async () => {
      // Signed at each try: a retry carries a fresh timestamp, which a push server checking freshness wants.
      const reply = await this.requests.run(ctx.signal, () =>
        this.http.request({
          url,
          method: "POST",
          headers: {
            "content-type": "application/json",
            "user-agent": "herald",
            ...relaySignatureHeaders(Buffer.from(built.body), this.settings.signingKey, Date.now()),
          },
          body: built.body,
          signal: ctx.signal,
        }),
      );
      const verdict = classifyPushServerAnswer(reply.status, reply.body, reply.headers);
      const answer = { status: reply.status };
      switch (verdict.kind) {
        case "delivered":
          if (verdict.note) delivery.log().info(`Delivered, but ${verdict.note}`);
          return { kind: "delivered", answer };
        case "rejected":
        case "retry":
        case "fail":
          return { ...verdict, answer };
        case "unauthorized":
          return {
            kind: "credentials",
            why: `${verdict.why} of app '${this.name}'`,
            fix: `give the push server's operator this app's public key, ${this.settings.publicKeyHex}, as its relay public key, or check signing_key_file`,
            answer,
          };
      }
    });
  }

  async close(): Promise<void> {
    this.http.close();
  }
}
