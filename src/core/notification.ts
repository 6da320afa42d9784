/**
 * The notification a homeserver sends to /_matrix/push/v1/notify, after validation.
 *
 * Only `devices` (and within a device `app_id`, `pushkey`, `pushkey_ts`, `data`, `tweaks`, `tweaks.sound`) and `counts`
 * are validated, exactly as Sygnal does. Every other field is optional and is `undefined` when it was absent, `null` or
 * of an unexpected type: Synapse sends `"type": null` and `"sender": ""` in badge-only updates, and clients rely on that
 * tolerance.
 */

export type JsonObject = { [key: string]: unknown };

export interface Counts {
  unread?: number;
  missed_calls?: number;
}

export interface Device {
  app_id: string;
  pushkey: string;
  pushkey_ts?: number;
  /** The pusher's `data`, minus `url`, forwarded by the homeserver (format, default_payload, endpoint, …). */
  data?: JsonObject;
  tweaks?: JsonObject;
}

export interface Notification {
  event_id?: string;
  room_id?: string;
  type?: string;
  sender?: string;
  sender_display_name?: string;
  room_name?: string;
  room_alias?: string;
  membership?: string;
  user_is_target?: boolean;
  /** `"low"` only when the homeserver said so; the spec's default is `"high"`. */
  prio: "high" | "low";
  content?: JsonObject;
  counts: Counts;
  devices: Device[];
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
