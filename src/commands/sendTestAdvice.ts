/**
 * What `herald send-test` says about a provider's answer, in plain words, with what to look at next (pure). The
 * hints are the causes app developers meet most: a token of the other APNs environment, a token of another app or
 * Firebase project, an app that does not show data messages.
 */
import type { DeviceOutcome, PermanentFailure, TemporaryFailure } from "../core/pushkin.js";

/** After a delivery: where the push can still get lost, by pushkin type. */
const AFTER_DELIVERY: Record<string, string> = {
  apns:
    "If the device shows nothing: is the app's bundle id the app's topic, is notification permission granted, and " +
    "does the token come from a build of the same environment (platform: sandbox for development builds)?",
  gcm:
    "If the device shows nothing: FCM messages from Herald carry data only, so the app itself must turn them into " +
    "a notification (a FirebaseMessagingService); a force-stopped app receives nothing until it is opened again.",
  hms:
    "If the device shows nothing: Huawei data messages reach the app's HmsMessageService, which must show them; " +
    "check the app is allowed to run in the background.",
  webpush:
    "If the browser shows nothing: the service worker's push handler must call showNotification, and the site " +
    "must still have notification permission.",
  threema: "If the phone shows nothing: the app must accept messages from this gateway ID.",
};

/** Reasons a provider gives, and what they usually mean. */
const REASON_HINTS: Record<string, string> = {
  BadDeviceToken:
    "APNs says the token is not a token of this environment: a development build's token sent to production (or " +
    "the reverse). Check the app's platform (production or sandbox).",
  DeviceTokenNotForTopic: "APNs says the token belongs to another app: check the app's topic (its bundle id).",
  Unregistered: "APNs says the app was uninstalled, or the token replaced: the app must register again.",
  TopicDisallowed: "APNs refuses the topic for this key or certificate: check topic and the key's team.",
  UNREGISTERED: "FCM says the token is no longer valid: the app was uninstalled, or its token refreshed.",
  SENDER_ID_MISMATCH: "FCM says the token belongs to another Firebase project than project_id.",
  INVALID_ARGUMENT: "FCM refused a field of the message, or the token's format.",
  "80300007": "Huawei says the token is invalid, or belongs to another app than app_id.",
};

export function explainOutcome(type: string, outcome: DeviceOutcome): string {
  switch (outcome.kind) {
    case "delivered":
      return `Delivered: the provider accepted the push.\n${AFTER_DELIVERY[type] ?? ""}`.trimEnd();
    case "rejected":
      return [
        `Rejected: ${sentence(outcome.why)}`,
        hintFor(outcome.why),
        "A homeserver's push to this pusher would be answered 'rejected', and the pusher deleted.",
      ]
        .filter(Boolean)
        .join("\n");
    case "skipped":
      return [
        `Nothing was sent: ${sentence(outcome.why)}`,
        /endpoint refused/.test(outcome.why) ? endpointHint(outcome.why) : "",
      ]
        .filter(Boolean)
        .join("\n");
  }
}

/** What lets a refused WebPush endpoint through, when it is meant to be reached. */
function endpointHint(why: string): string {
  if (/allowed_endpoints/.test(why)) {
    return "A push service outside allowed_endpoints is refused: list its host in the app's allowed_endpoints if it is meant to be reached.";
  }
  if (/is http, not https/.test(why)) {
    return "A plain http push service is refused: set allow_http: true in the app if it is meant to be reached.";
  }
  if (!/does not push to/.test(why)) return "";
  return "A push service on a special-purpose address (loopback, private, link-local…) is refused, listed in allowed_endpoints or not: list its address or network in the app's allow_private_addresses if it is meant to be reached.";
}

export function explainFailure(error: TemporaryFailure | PermanentFailure, fix?: string): string {
  const answer = error.answer ? ` (the provider answered ${error.answer.status}${reasonOf(error.answer.reason)})` : "";
  const lines =
    fix !== undefined
      ? [`Failed: the app's credentials do not work${answer}.`, error.message]
      : error.name === "TemporaryFailure"
        ? [
            `Failed for now: the provider could not be reached, or asked to be tried again later${answer}.`,
            error.message,
            "A homeserver's push would get 502 and be retried; the pusher is kept.",
          ]
        : [
            `Failed: the provider refused the request${answer}.`,
            error.message,
            hintFor(error.answer?.reason ?? error.message),
            "A homeserver's push would get 502; the pusher is kept.",
          ];
  return lines.filter(Boolean).join("\n");
}

/** A provider's text ends a sentence once: "…not found." does not get a second full stop. */
function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

function reasonOf(reason: string | undefined): string {
  return reason ? ` ${reason}` : "";
}

function hintFor(text: string): string {
  for (const [reason, hint] of Object.entries(REASON_HINTS)) if (text.includes(reason)) return hint;
  if (/not a base64 APNs token/.test(text))
    return "iOS pushers carry the APNs token in base64; a hex token needs convert_device_token_to_hex: false.";
  return "";
}
