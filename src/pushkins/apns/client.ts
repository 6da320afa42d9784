/**
 * One APNs credential's connection to Apple: a long-lived HTTP/2 connection, token (ES256 JWT) or certificate
 * authentication, and Apple's answers classified as design.md says, with retries inside the caller's deadline.
 * The Matrix pushkin, push-relay's /push and the WalletConnect API all send through it with payloads of their own.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { ProxyConfig } from "../../config/proxy.js";
import { Http2Origin } from "../../core/http2Origin.js";
import { signJwt } from "../../core/jwt.js";
import { deliverWithRetries, rejectUnsent } from "../../core/providerDelivery.js";
import { CredentialFailure, type Delivery, type DeliveryContext } from "../../core/pushkin.js";
import { RefreshingToken } from "../../core/refreshingToken.js";
import { parseRetryAfter } from "../../core/retry.js";
import { classifyApnsAnswer, reasonOf } from "./answer.js";
import { apnsMetrics, type ApnsMetrics } from "./metrics.js";
import type { ApnsAuth } from "./settings.js";

const MINUTE = 60_000;
/** Apple refuses a JWT older than 60 minutes and punishes renewing it more often than every 20. */
const JWT_RENEW_AFTER = 50 * MINUTE;
const JWT_MIN_AGE = 20 * MINUTE;
const NAMES = { provider: "APNs", recipient: "APNs token" };
/** No device token is longer; a request path with one is refused before it is sent. */
const MAX_TOKEN_CHARACTERS = 4096;

/** What to do when Apple answers 403 with this reason: the credentials, not the device, are at fault. */
const CREDENTIAL_FIXES: Record<string, string> = {
  InvalidProviderToken:
    "check key_id and team_id against the key in Apple's developer portal, and that the key is not revoked",
  MissingProviderToken: "configure token authentication (keyfile, key_id, team_id) or a certificate (certfile)",
  BadCertificate: "the certificate is not an APNs certificate: export the app's push certificate again",
  BadCertificateEnvironment:
    "the certificate is for the other environment: set platform (production or sandbox) to match it",
  Forbidden: "the key or certificate may not push: check its capabilities in Apple's developer portal",
  BadEnvironmentKeyIdInToken: "the key is for the other environment: set platform (production or sandbox) to match it",
  UnrelatedKeyIdInToken: "the key_id does not belong to team_id: check both in Apple's developer portal",
  ExpiredProviderToken: "check this machine's clock: Apple refuses a JWT whose time is off",
};
const DEFAULT_CREDENTIAL_FIX = "check the app's key or certificate in Apple's developer portal";

export interface ApnsClientOptions {
  /** The metrics label (an app's config key). */
  name: string;
  endpoint: string;
  auth: ApnsAuth;
  ca: Buffer | undefined;
  proxy: ProxyConfig | undefined;
  metrics: Registry;
  log: Logger;
  now?: () => number;
}

export interface ApnsPush {
  /** The device token (hex, for a real one); percent-encoded into the request path here. */
  token: string;
  /** `apns-topic`, `apns-priority`, `apns-push-type`, `apns-expiration`, `apns-collapse-id`…; `apns-id` is added. */
  headers: Record<string, string>;
  /** The JSON payload, as sent. */
  body: string;
}

/** One exchange with Apple. */
export interface ApnsReply {
  status: number;
  reason: string | undefined;
  retryAfter: number | undefined;
}

export class ApnsClient {
  private readonly origin: Http2Origin;
  /** With token authentication: the `authorization` header, `bearer` and the JWT, made once for every push it serves. */
  private readonly jwt: RefreshingToken<string> | undefined;
  private readonly metrics: ApnsMetrics;
  private readonly now: () => number;

  constructor(private readonly options: ApnsClientOptions) {
    const { auth, log } = options;
    const now = (this.now = options.now ?? Date.now);
    this.metrics = apnsMetrics(options.metrics);
    this.origin = new Http2Origin({
      origin: options.endpoint,
      ca: options.ca,
      ...(auth.kind === "certificate" ? { cert: auth.certPem, key: auth.keyPem } : {}),
      proxy: options.proxy,
      log,
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
          return { value: `bearer ${value}`, renewAt: issuedAt + JWT_RENEW_AFTER };
        },
      });
    } else {
      this.metrics.certificateExpiry.labels(options.name).set(auth.notAfter.getTime() / 1000);
      const daysLeft = (auth.notAfter.getTime() - now()) / (24 * 60 * MINUTE);
      if (daysLeft > 0 && daysLeft < 30) {
        log.warn({ not_after: auth.notAfter.toISOString() }, "The APNs certificate expires within 30 days");
      }
    }
  }

  /** A certificate past its expiry: Apple would refuse the connection, so nothing is sent. */
  credentialProblem(): CredentialFailure | undefined {
    const { auth } = this.options;
    if (auth.kind !== "certificate" || this.now() < auth.notAfter.getTime()) return undefined;
    return new CredentialFailure(`the APNs certificate expired on ${auth.notAfter.toISOString()}`, {
      fix: "renew the app's push certificate in Apple's developer portal, export it with its key as PEM to certfile, and restart Herald",
    });
  }

  /** Sends until Apple delivers, rejects the token, or refuses for good, within the context's deadline. */
  deliver(push: ApnsPush, ctx: DeliveryContext): Promise<Delivery> {
    const problem = this.credentialProblem();
    if (problem) return Promise.reject(problem);
    // An empty token names no device: Apple can never deliver it, and its answer (a bad path) would read as a
    // configuration error of the app, logged as such. It is a bad token, as push-relay's clients and pushers see it.
    if (push.token === "") return rejectUnsent(NAMES, ctx, "the device token is empty");
    // Apple's tokens are 64 hex digits today and variable in length, but never this long: such a path is more than an
    // HTTP/2 server takes in a request head, so the stream would be reset at every try and the push answered as a
    // provider outage, which the caller (WalletConnect's relay) retries for ever.
    if (push.token.length > MAX_TOKEN_CHARACTERS) {
      return rejectUnsent(NAMES, ctx, `the device token is over ${MAX_TOKEN_CHARACTERS} characters`);
    }
    return deliverWithRetries(NAMES, ctx, async (attempt) => {
      const reply = await this.send(push, ctx, attempt);
      const answer = { status: reply.status, reason: reply.reason };
      const verdict = classifyApnsAnswer(reply.status, reply.reason);
      switch (verdict.kind) {
        case "delivered":
        case "rejected":
          return { ...verdict, answer };
        case "retry":
          return { ...verdict, retryAfter: reply.retryAfter, answer };
        case "renew-token":
          return {
            kind: "credentials",
            why: "APNs answered 403 ExpiredProviderToken to a JWT less than 20 minutes old",
            fix: CREDENTIAL_FIXES.ExpiredProviderToken!,
            answer,
          };
        case "configuration-error":
          if (reply.status !== 403) return { kind: "fail", why: verdict.why, answer };
          return {
            kind: "credentials",
            why: `APNs refused the credentials: ${verdict.why}`,
            fix: (reply.reason && CREDENTIAL_FIXES[reply.reason]) || DEFAULT_CREDENTIAL_FIX,
            answer,
          };
      }
    });
  }

  /** One exchange; a JWT Apple calls expired is replaced once (unless it is too young to be). */
  async send(push: ApnsPush, ctx: DeliveryContext, attempt = 1): Promise<ApnsReply> {
    const reply = await this.exchange(push, ctx, attempt);
    if (reply.status === 403 && reply.reason === "ExpiredProviderToken" && this.jwt?.renew()) {
      ctx.log().info("APNs says the JWT expired; signing a new one");
      return this.exchange(push, ctx, attempt);
    }
    return reply;
  }

  async close(): Promise<void> {
    await this.origin.close();
  }

  private async exchange(push: ApnsPush, ctx: DeliveryContext, attempt: number): Promise<ApnsReply> {
    const apnsId = randomUUID();
    const headers: Record<string, string> = { "apns-id": apnsId, "content-type": "application/json", ...push.headers };
    if (this.jwt) headers.authorization = await this.jwt.get();
    // The level is checked first: a push's logger is made only when there is something to log.
    if (this.options.log.isLevelEnabled("debug")) ctx.log().debug({ attempt, apns_id: apnsId }, "Sending to APNs");

    const { activeRequests, requestTime, statusCodes } = this.metrics;
    activeRequests.inc();
    const stopTimer = requestTime.startTimer();
    try {
      const answer = await this.origin.request({
        method: "POST",
        // The token is whatever the caller was given (push-relay and WalletConnect take it from the request): encoded,
        // it stays one path segment, and `/`, `?` or `#` in it cannot send the push to another path or device.
        path: `/3/device/${encodeURIComponent(push.token)}`,
        headers,
        body: push.body,
        signal: ctx.signal,
      });
      statusCodes.labels(this.options.name, String(answer.status)).inc();
      return {
        status: answer.status,
        reason: reasonOf(answer.body),
        retryAfter: parseRetryAfter(answer.headers["retry-after"]),
      };
    } finally {
      stopTimer();
      activeRequests.dec();
    }
  }
}
