/**
 * What push-relay sends each provider, built from a request (pure; the time is given). Every push carries the
 * ThreemaPayload `{wcs, wca?, wct, wcv}`: the session, the affiliation when given, the time in Unix seconds and the
 * protocol version. FCM's data values must be strings, so there `wct` and `wcv` are strings; elsewhere numbers.
 */
import type { ApnsPush } from "../pushkins/apns/client.js";
import type { PushRequest } from "./request.js";

export interface ThreemaPayload {
  wcs: string;
  wca?: string;
  wct: number;
  wcv: number;
}

/** The custom key of the APNs payload that holds the ThreemaPayload. */
const APNS_PAYLOAD_KEY = "3mw";
const APNS_WAKEUP_TEXT = "Threema Web Wakeup";

export function threemaPayload(request: PushRequest, nowMs: number): ThreemaPayload {
  return {
    wcs: request.session,
    ...(request.affiliation === undefined ? {} : { wca: request.affiliation }),
    wct: Math.floor(nowMs / 1000),
    wcv: request.version,
  };
}

/** FCM HTTP v1: `{"message": {token, data, android: {collapse_key?, priority: HIGH, ttl}}}`. */
export function fcmMessage(request: PushRequest & { type: "fcm" }, nowMs: number): string {
  const payload = threemaPayload(request, nowMs);
  const data = { ...payload, wct: String(payload.wct), wcv: String(payload.wcv) };
  const android = {
    ...(request.collapseId === undefined ? {} : { collapse_key: request.collapseId }),
    priority: "HIGH",
    ttl: `${request.ttl}s`,
  };
  return JSON.stringify({ message: { token: request.token, data, android } });
}

/**
 * APNs: a bundle id ending in `.voip` gets a VoIP push (`content-available` only, as apns-h2's builder writes it,
 * with `mutable-content: 0`); any other an alert that iOS shows as "Threema Web Wakeup". Priority 10, the bundle id
 * as topic, the expiration ttl seconds from now (ttl 0: 0, deliver now or never).
 */
export function apnsPush(request: PushRequest & { type: "apns" }, nowMs: number): ApnsPush {
  const voip = request.bundleId.endsWith(".voip");
  const aps = voip
    ? { "content-available": 1, "mutable-content": 0 }
    : { alert: APNS_WAKEUP_TEXT, sound: "default", "mutable-content": 1 };
  const expiration = request.ttl === 0 ? 0 : Math.floor(nowMs / 1000) + request.ttl;
  const headers: Record<string, string> = {
    "apns-priority": "10",
    "apns-push-type": voip ? "voip" : "alert",
    "apns-expiration": String(expiration),
    "apns-topic": request.bundleId,
  };
  if (request.collapseId !== undefined) headers["apns-collapse-id"] = request.collapseId;
  return {
    token: request.token,
    headers,
    body: JSON.stringify({ aps, [APNS_PAYLOAD_KEY]: threemaPayload(request, nowMs) }),
  };
}

/**
 * Huawei Push Kit: the ThreemaPayload as a JSON string in `data`; HIGH urgency and the VOIP category only for an app
 * configured with `high_priority`; the ttl. The collapse key is not sent.
 */
export function hmsMessage(request: PushRequest & { type: "hms" }, highPriority: boolean, nowMs: number): string {
  const android = {
    urgency: highPriority ? "HIGH" : "NORMAL",
    ...(highPriority ? { category: "VOIP" } : {}),
    ttl: `${request.ttl}s`,
  };
  const data = JSON.stringify(threemaPayload(request, nowMs));
  return JSON.stringify({ message: { data, android, token: [request.token] } });
}
