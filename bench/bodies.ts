/**
 * The request bodies the benchmark sends: a notification as Synapse sends it for a message (every field of the
 * `full` case of Sygnal's recorded payloads), for one or ten devices of the same app, iOS (APNs), Android (FCM),
 * a browser (WebPush) or a Huawei phone (HMS). The pushkeys are APNs tokens in base64 (32 random bytes each),
 * FCM-like or HMS-like registration tokens, or a WebPush subscription's p256dh key, fixed for a run; the `event_id`
 * changes with every request.
 */
import { randomBytes } from "node:crypto";

export const APP_ID = "org.example.herald.demo.ios";
/** The second app of the isolation scenario, on a provider that never answers. */
export const HANGING_APP_ID = "org.example.herald.hanging.ios";
/** The FCM (HTTP v1) app of the FCM scenarios: the sandbox's Android app id. */
export const FCM_APP_ID = "org.example.herald.demo.android";
/** The WebPush app of the WebPush scenario: the sandbox's web app id. */
export const WEBPUSH_APP_ID = "org.example.herald.demo.web";
/** The Huawei Push Kit app of the HMS scenario: the sandbox's Huawei app id. */
export const HMS_APP_ID = "org.example.herald.demo.huawei";

/** Builds the body of the nth request; cheap, because the load generator shares the CPU with Herald. */
export type BodyFactory = (n: number) => string;

/** The fields of the `full` case of Sygnal's recorded payloads, as Synapse sends them for a message. */
export const SAMPLE_EVENT = {
  room_id: "!slw48wfj34rtnrf:example.com",
  type: "m.room.message",
  sender: "@exampleuser:matrix.org",
  sender_display_name: "Major Tom",
  room_name: "Mission Control",
  room_alias: "#exampleroom:matrix.org",
  prio: "high",
  content: { msgtype: "m.text", body: "I'm floating in a most peculiar way.", other: 1 },
  counts: { unread: 2, missed_calls: 1 },
} as const;

/** `data` is every device's pusher data (a WebPush subscription's endpoint and auth secret); default `{}`. */
export function notificationBody(
  appId: string,
  pushkeys: string[],
  runId: string,
  data: Record<string, string> = {},
): BodyFactory {
  return notificationBodyOf(
    pushkeys.map((pushkey) => ({ app_id: appId, pushkey, data })),
    runId,
  );
}

/** A notification to these devices, each request with its own event id. */
export function notificationBodyOf(
  devices: { app_id: string; pushkey: string; data?: Record<string, string> }[],
  runId: string,
): BodyFactory {
  const marker = "\u0000EVENT\u0000";
  const template = JSON.stringify({
    notification: {
      id: marker,
      event_id: marker,
      ...SAMPLE_EVENT,
      devices: devices.map(({ app_id, pushkey, data = {} }) => ({
        app_id,
        pushkey,
        pushkey_ts: 1_700_000_000,
        data,
        tweaks: { sound: "default" },
      })),
    },
  });
  const [head, middle, tail] = template.split(JSON.stringify(marker));
  if (head === undefined || middle === undefined || tail === undefined) throw new Error("body template broken");
  return (n) => `${head}"$${runId}-${n}"${middle}"$${runId}-${n}:example.com"${tail}`;
}

/** `count` APNs device tokens (32 random bytes) as base64 pushkeys, the way iOS clients register them. */
export function randomPushkeys(count: number): string[] {
  return Array.from({ length: count }, () => randomBytes(32).toString("base64"));
}

/**
 * `count` FCM-like registration tokens: "bench-", 32 random base64url characters and ":APA91b" (real tokens are an
 * instance id, a colon and a longer "APA91b…" part; the sandbox only checks that a token is long and has no spaces).
 */
export function randomFcmTokens(count: number): string[] {
  return Array.from({ length: count }, () => `bench-${randomBytes(24).toString("base64url")}:APA91b`);
}

/**
 * `count` HMS-like registration tokens: "bench-" and 32 random base64url characters (the sandbox Push Kit takes any
 * non-empty token).
 */
export function randomHmsTokens(count: number): string[] {
  return Array.from({ length: count }, () => `bench-${randomBytes(24).toString("base64url")}`);
}
