/**
 * The push-relay engine: the provider clients built from the `push_relay` section, and one push sent through the
 * client of its type within `request_deadline`, retries included, then answered as push-relay answers.
 *
 * Two APNs clients share one key, one per APNs environment, and the request's `endpoint` (p/s) picks one, as in
 * push-relay. Each Huawei app of `push_relay.hms` has its client, picked by the request's `appid`. A type with no
 * client (not configured, an unknown appid) answers 400, as push-relay does.
 */
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { ProxyConfig } from "../config/proxy.js";
import { startDeadline } from "../core/deadline.js";
import type { DeliveryContext } from "../core/pushkin.js";
import { shortPushkey } from "../observability/logger.js";
import type { TraceParent } from "../observability/spans.js";
import { ApnsClient } from "../pushkins/apns/client.js";
import { FcmV1Client } from "../pushkins/fcm/v1Client.js";
import { HmsClient } from "../pushkins/hms/client.js";
import { answerFor, answerForFailure, type PushAnswer, type SendResult } from "./answer.js";
import { ThreemaGatewayClient } from "../pushkins/threema/client.js";
import { apnsPush, fcmMessage, hmsMessage, threemaPayload } from "./payload.js";
import type { PushRequest } from "./request.js";
import type { PushRelaySettings } from "./settings.js";

export interface ClientDeps {
  proxy: ProxyConfig | undefined;
  metrics: Registry;
  log: Logger;
}

const MAX_CONNECTIONS = 20;

export class PushRelaySender {
  private constructor(
    private readonly requestDeadline: number,
    private readonly fcm: FcmV1Client | undefined,
    private readonly apns: { production: ApnsClient; sandbox: ApnsClient } | undefined,
    private readonly hms: Map<string, { client: HmsClient; highPriority: boolean }>,
    private readonly threemaGateway: ThreemaGatewayClient | undefined,
  ) {}

  static create(settings: PushRelaySettings, options: ClientDeps & { requestDeadline: number }): PushRelaySender {
    const { proxy, metrics, log } = options;
    const { fcm, apns } = settings;
    const apnsClient = (environment: "production" | "sandbox") =>
      new ApnsClient({
        name: `push_relay:apns:${environment}`,
        endpoint: apns!.endpoints[environment],
        auth: { kind: "token", key: apns!.key, keyId: apns!.keyId, teamId: apns!.teamId },
        ca: apns!.ca,
        proxy,
        metrics,
        log: log.child({ push_relay: "apns", environment }),
      });
    const hms = new Map(
      [...settings.hms].map(([appId, app]) => [
        appId,
        {
          highPriority: app.highPriority,
          client: new HmsClient({
            name: `push_relay:hms:${appId}`,
            // push-relay's push URL names the client id (Huawei: the app id equals it).
            appId: app.clientId,
            clientId: app.clientId,
            clientSecret: app.clientSecret,
            endpoint: app.endpoint,
            tokenEndpoint: app.tokenEndpoint,
            ca: app.ca,
            proxy,
            maxConnections: MAX_CONNECTIONS,
            metrics,
          }),
        },
      ]),
    );
    const gateway = settings.threemaGateway;
    return new PushRelaySender(
      options.requestDeadline,
      fcm &&
        new FcmV1Client({
          name: "push_relay:fcm",
          endpoint: fcm.endpoint,
          projectId: fcm.projectId,
          serviceAccount: fcm.serviceAccount,
          ca: fcm.ca,
          proxy,
          maxConnections: MAX_CONNECTIONS,
          metrics,
          log: log.child({ push_relay: "fcm" }),
        }),
      apns && { production: apnsClient("production"), sandbox: apnsClient("sandbox") },
      hms,
      gateway &&
        new ThreemaGatewayClient({
          endpoint: gateway.baseUrl,
          identity: gateway.identity,
          secret: gateway.secret,
          privateKey: gateway.privateKey,
          maxConnections: MAX_CONNECTIONS,
          ca: gateway.ca,
          proxy,
          metrics,
          label: "push_relay:threema_gateway",
        }),
    );
  }

  /**
   * Sends one push within the deadline and says what push-relay would answer; logs what was not delivered. `trace`:
   * the request's span while tracing is on, for the spans of the provider requests.
   */
  async push(request: PushRequest, log: Logger, trace?: TraceParent): Promise<PushAnswer> {
    const deadline = startDeadline(this.requestDeadline);
    let pushLog: Logger | undefined;
    const ctx: DeliveryContext = {
      signal: deadline.signal,
      deadline: deadline.at,
      log: () => (pushLog ??= log.child({ push_type: request.type, recipient: recipientOf(request) })),
      trace,
    };
    try {
      const result = await Promise.race([this.send(request, ctx), deadline.passed]);
      if (result.kind !== "delivered") ctx.log().info({ why: result.why }, "Push not delivered");
      return answerFor(request.type, result);
    } catch (error) {
      const answer = answerForFailure(request.type, error);
      if (answer.outcome === "error") ctx.log().error({ err: error }, "Push failed");
      else ctx.log().warn({ err: error }, "Push failed");
      return answer;
    } finally {
      deadline.clear();
    }
  }

  /** One push through its provider's client; failures are thrown, as the clients throw them. */
  async send(request: PushRequest, ctx: DeliveryContext, nowMs = Date.now()): Promise<SendResult> {
    switch (request.type) {
      case "fcm":
        if (!this.fcm) return refused("FCM is not configured (push_relay.fcm)");
        return this.fcm.deliver(fcmMessage(request, nowMs), ctx);
      case "apns":
        if (!this.apns) return refused("APNs is not configured (push_relay.apns)");
        return this.apns[request.endpoint].deliver(apnsPush(request, nowMs), ctx);
      case "hms": {
        const app = this.hms.get(request.appId);
        if (!app) return refused(`unknown HMS appid ${JSON.stringify(request.appId)} (push_relay.hms)`);
        return app.client.deliver(hmsMessage(request, app.highPriority, nowMs), request.token, ctx);
      }
      case "threema-gateway": {
        if (!this.threemaGateway) return refused("the Threema Gateway is not configured (push_relay.threema_gateway)");
        const sealed = this.threemaGateway.seal(request.publicKey, threemaPayload(request, nowMs));
        if (!sealed) return refused("public_key is a degenerate X25519 key that nothing can be encrypted for");
        return this.threemaGateway.deliver(request.identity, sealed, ctx);
      }
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([
      this.fcm?.close(),
      this.apns?.production.close(),
      this.apns?.sandbox.close(),
      this.threemaGateway?.close(),
      ...[...this.hms.values()].map((app) => app.client.close()),
    ]);
  }
}

function refused(why: string): SendResult {
  return { kind: "refused", why };
}

/** Which device, for the log: a shortened token, or the Threema ID (not a secret). */
function recipientOf(request: PushRequest): string {
  return request.type === "threema-gateway" ? request.identity : shortPushkey(request.token);
}
