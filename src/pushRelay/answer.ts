/**
 * What Threema Web is told about a push, as push-relay tells it (server.rs and each provider's send_push): 204 when
 * delivered; 400 when the provider said the token or the request is bad, or the provider is not configured; 502 when
 * the provider failed; 500 when the relay itself failed. Every failure answers the text `Push not successful`.
 *
 * Two differences, on purpose: a provider that cannot be reached (connection refused or reset, timeout, DNS) is a 502
 * where push-relay answers 400, since a network blip is not a bad token; and transient answers (429, 5xx) are retried
 * for every provider within `request_deadline`, then answered 502, where push-relay retries only FCM's.
 */
import { isDispatchFailure, type Delivery, type ProviderAnswer } from "../core/pushkin.js";
import type { PushType } from "./request.js";

/** `refused`: nothing was sent, as push-relay refuses it (no such provider or appid configured, an unusable key). */
export type SendResult = Delivery | { kind: "refused"; why: string };

/** The labels of `herald_push_relay_pushes_total`. */
export type PushOutcome = "delivered" | "refused" | "failed" | "error";

export interface PushAnswer {
  status: 204 | 400 | 500 | 502;
  outcome: PushOutcome;
}

const DELIVERED: PushAnswer = { status: 204, outcome: "delivered" };
const REFUSED: PushAnswer = { status: 400, outcome: "refused" };
const FAILED: PushAnswer = { status: 502, outcome: "failed" };
const ERROR: PushAnswer = { status: 500, outcome: "error" };

/** APNs reasons push-relay answers 400 (RemoteClient): the token, the key id, the expiration or the topic is bad. */
const APNS_CLIENT_REASONS = new Set([
  "ExpiredToken",
  "BadDeviceToken",
  "Unregistered",
  "BadEnvironmentKeyIdInToken",
  "UnrelatedKeyIdInToken",
  "BadExpirationDate",
  "BadTopic",
  "DeviceTokenNotForTopic",
  "TopicDisallowed",
]);
/** FCM statuses push-relay answers 400: the token or payload is invalid, or an unrecoverable 401/402. */
const FCM_CLIENT_STATUSES = new Set([400, 401, 402, 404]);
/** Push Kit codes push-relay answers 400 (some or all tokens invalid) and 502 (Huawei's own or OAuth trouble). */
const HMS_CLIENT_CODES = new Set(["80100000", "80300007"]);
const HMS_SERVER_CODES = new Set(["81000001", "80200001", "80200003"]);
const HMS_SERVER_STATUSES = new Set([500, 502, 503]);
/** Threema Gateway statuses push-relay answers 502: bad recipient, bad secret, no credits, message too long. */
const GATEWAY_SERVER_STATUSES = new Set([400, 401, 402, 413]);

export function answerFor(type: PushType, result: SendResult): PushAnswer {
  switch (result.kind) {
    case "delivered":
      return DELIVERED;
    case "refused":
      return REFUSED;
    case "rejected":
      // The gateway's "receiver identity invalid" is its server's problem to push-relay, not the device's.
      return type === "threema-gateway" ? FAILED : REFUSED;
  }
}

/** The answer to a send that threw. */
export function answerForFailure(type: PushType, error: unknown): PushAnswer {
  if (!isDispatchFailure(error)) return ERROR;
  // Not reached, timed out, or transient answers that outlasted the retries.
  if (error.name !== "PermanentFailure") return FAILED;
  // Without an answer from the provider: its token endpoint refused our credentials (push-relay's RemoteAuth).
  if (error.answer === undefined) return ERROR;
  return permanentAnswer(type, error.answer);
}

function permanentAnswer(type: PushType, { status, reason }: ProviderAnswer): PushAnswer {
  switch (type) {
    case "apns":
      return reason !== undefined && APNS_CLIENT_REASONS.has(reason) ? REFUSED : FAILED;
    case "fcm":
      return FCM_CLIENT_STATUSES.has(status) ? REFUSED : FAILED;
    case "hms":
      if (status === 400 || (reason !== undefined && HMS_CLIENT_CODES.has(reason))) return REFUSED;
      if (HMS_SERVER_STATUSES.has(status) || (reason !== undefined && HMS_SERVER_CODES.has(reason))) return FAILED;
      // Parameters, permissions, sizes: push-relay calls them its own failure.
      return ERROR;
    case "threema-gateway":
      return GATEWAY_SERVER_STATUSES.has(status) ? FAILED : ERROR;
  }
}
