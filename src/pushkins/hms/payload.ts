/**
 * The Huawei Push Kit request body (pure). The data is the very map the FCM v1 pushkin sends for the same
 * notification (Sygnal's fields, counts as strings), as one JSON string, which is how HMS data messages carry data:
 * an Android app can hand FCM and HMS messages to the same code.
 */
import type { Device, JsonObject, Notification } from "../../core/notification.js";
import { isJsonObject } from "../../core/notification.js";
import { buildFcmData, stringValues, type FcmData } from "../fcm/payload.js";

export function buildHmsData(n: Notification, device: Device, sendBadgeCounts: boolean): FcmData {
  return buildFcmData(n, device, "v1", sendBadgeCounts);
}

export function hmsBody(
  data: JsonObject,
  hmsOptions: JsonObject,
  n: Notification,
  pushkey: string,
  ttlSeconds: number,
): JsonObject {
  const android = isJsonObject(hmsOptions.android) ? hmsOptions.android : {};
  const { data: _data, token: _token, ...options } = hmsOptions;
  return {
    message: {
      ...options,
      data: JSON.stringify(stringValues(data)),
      android: { ...android, urgency: n.prio === "low" ? "NORMAL" : "HIGH", ttl: `${ttlSeconds}s` },
      token: [pushkey],
    },
  };
}
