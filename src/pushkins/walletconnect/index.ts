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
import {
  CredentialFailure,
  PermanentFailure,
  TemporaryFailure,
  type DeviceOutcome,
  type DispatchContext,
  type Pushkin,
  type PushkinSetup,
} from "../../core/pushkin.js";
import { RequestLimiter } from "../../core/requestLimiter.js";
import { logRetries, withRetries, type RetryPolicy } from "../../core/retry.js";
import { relaySignatureHeaders } from "../../walletConnect/signature.js";
import { classifyPushServerAnswer } from "./answer.js";
import { walletConnectPushkinMetrics } from "./metrics.js";
import { relayBody } from "./payload.js";
import { readWalletConnectPushkinSettings, type WalletConnectPushkinSettings } from "./settings.js";

const RETRY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 2000 };

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
    return withRetries(RETRY, { ...ctx, onRetry: logRetries(delivery.log) }, async () => {
      // Signed at each try: a retry carries a fresh timestamp, which a push server checking freshness wants.
      const answer = await this.requests.run(ctx.signal, () =>
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
      const verdict = classifyPushServerAnswer(answer.status, answer.body, answer.headers);
      const provider = { status: answer.status };
      switch (verdict.kind) {
        case "delivered":
          if (verdict.note) delivery.log().info(`Delivered, but ${verdict.note}`);
          return { kind: "delivered" };
        case "rejected":
          delivery.log().info(`WalletConnect client was rejected: ${verdict.why}`);
          return { kind: "rejected", why: verdict.why };
        case "retry":
          throw new TemporaryFailure(verdict.why, { retryAfter: verdict.retryAfter, answer: provider });
        case "unauthorized":
          throw new CredentialFailure(`${verdict.why} of app '${this.name}'`, {
            fix: `give the push server's operator this app's public key, ${this.settings.publicKeyHex}, as its relay public key, or check signing_key_file`,
            answer: provider,
          });
        case "fail":
          delivery.log().error(verdict.why);
          throw new PermanentFailure(verdict.why, { answer: provider });
      }
    });
  }

  async close(): Promise<void> {
    this.http.close();
  }
}
