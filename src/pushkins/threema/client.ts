/**
 * A Threema Gateway account in end-to-end mode, usable on its own: it encrypts a message for a Threema user with the
 * account's private key and posts it to `/send_e2e`, as push-relay does: no push notification and no delivery receipt
 * asked for, since the message only wakes the app. Keep-alive connections, at most `maxConnections` requests open,
 * the outbound proxy, a CA of its own. Every answer is returned as it came; what it means is `answer.ts`'s to say.
 */
import type { KeyObject } from "node:crypto";
import type { Registry } from "prom-client";
import type { ProxyConfig } from "../../config/proxy.js";
import { Http1Client, type Http1Response } from "../../core/http1Client.js";
import { deliverWithRetries } from "../../core/providerDelivery.js";
import type { Delivery, DeliveryContext } from "../../core/pushkin.js";
import { RequestLimiter } from "../../core/requestLimiter.js";
import { classifyThreemaAnswer } from "./answer.js";
import { pushPlaintext, sealForRecipient, x25519PrivateKey, type SealedBox } from "./crypto.js";
import { threemaMetrics } from "./metrics.js";

export const THREEMA_GATEWAY_ENDPOINT = "https://msgapi.threema.ch";
const NAMES = { provider: "Threema Gateway", recipient: "Threema ID" };

export interface ThreemaGatewayOptions {
  /** The API's base URL, without a trailing slash. */
  endpoint: string;
  /** The gateway ID, e.g. `*3MAPUSH`. */
  identity: string;
  /** The gateway ID's API secret. */
  secret: string;
  /** The 32 bytes of the private key registered with the gateway ID. */
  privateKey: Uint8Array;
  maxConnections: number;
  ca?: Buffer;
  proxy?: ProxyConfig;
  metrics: Registry;
  /** The `pushkin` label of the status-code metric. */
  label: string;
}

export class ThreemaGatewayClient {
  private readonly http: Http1Client;
  private readonly requests: RequestLimiter;
  private readonly privateKey: KeyObject;
  private readonly url: string;

  constructor(private readonly options: ThreemaGatewayOptions) {
    this.http = new Http1Client({ ca: options.ca, proxy: options.proxy, maxSockets: options.maxConnections });
    this.requests = new RequestLimiter(options.maxConnections, options.label, threemaMetrics(options.metrics));
    this.privateKey = x25519PrivateKey(options.privateKey);
    this.url = `${options.endpoint}/send_e2e`;
  }

  /** `message` as push-relay's plaintext, encrypted for the recipient; undefined when their key is unusable. */
  seal(recipientPublicKey: Uint8Array, message: object): SealedBox | undefined {
    return sealForRecipient(pushPlaintext(message), recipientPublicKey, this.privateKey);
  }

  /**
   * Posts a sealed message to the Threema ID `to` until the gateway accepts it, says the ID can never be reached, or
   * refuses for good, within the deadline. Every try sends the same box: should a try that seemed lost have arrived
   * after all, the repeat carries a nonce the phone has already seen, and Threema apps drop it as a replay.
   */
  deliver(to: string, sealed: SealedBox, ctx: DeliveryContext): Promise<Delivery> {
    return deliverWithRetries(NAMES, ctx, async () => {
      const reply = await this.sendE2e(to, sealed, ctx.signal);
      const verdict = classifyThreemaAnswer(reply.status, reply.body, reply.headers);
      const answer = { status: reply.status };
      switch (verdict.kind) {
        case "delivered":
          ctx.log().debug({ message_id: verdict.messageId }, "Threema Gateway accepted the message");
          return { kind: "delivered", answer };
        case "rejected":
        case "retry":
          return { ...verdict, answer };
        case "fail":
          if (reply.status === 401)
            return {
              kind: "credentials",
              why: "Threema Gateway refused the gateway ID or its secret (401)",
              fix: "check identity and secret against gateway.threema.ch",
              answer,
            };
          return { ...verdict, answer };
      }
    });
  }

  /** Posts a sealed message to the Threema ID `to`, once. Throws a `TemporaryFailure` when the API cannot be reached. */
  sendE2e(to: string, { nonce, box }: SealedBox, signal: AbortSignal): Promise<Http1Response> {
    const form = new URLSearchParams({
      from: this.options.identity,
      to,
      nonce: nonce.toString("hex"),
      box: box.toString("hex"),
      secret: this.options.secret,
      noPush: "1",
      noDeliveryReceipts: "1",
    });
    return this.requests.run(signal, () =>
      this.http.request({
        url: this.url,
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
          "user-agent": "herald",
        },
        body: form.toString(),
        signal,
      }),
    );
  }

  close(): void {
    this.http.close();
  }
}
