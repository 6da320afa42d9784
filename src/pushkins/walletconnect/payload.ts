/**
 * The relay message a `walletconnect` app sends for one Matrix device (pure). The raw shape of WalletConnect's push
 * server, `{"topic", "tag", "message"}`:
 *
 * - `topic`: the pusher's `data.topic` when it is a string (the wallet app's own topic), else the notification's
 *   room id, else "";
 * - `tag`: the app's `tag`;
 * - `message`: the FCM v1 pushkin's data map, as JSON (its values strings): what an FCM app would have received.
 *
 * The same message rides along in the legacy shape, `{"id", "payload": {"topic", "flags": 1, "blob"}}` with the raw
 * message's id and the message as an (opaque, "encrypted") blob: a push server reads the raw shape for a client
 * registered with `always_raw`, and the legacy shape for any other, so the device gets it either way.
 *
 * The push server takes the SHA-256 of `message` as the message id: a notification sent again (the homeserver's retry)
 * is the same message, which the push server does not push twice.
 *
 * `client_id`, the device's pushkey, is Herald's: the signature covers the body but not the path, and a Herald push
 * server holds a message that names its client to that client (and pushes the same message to each device that gets
 * it), where one that names none goes to the first client it reaches. WalletConnect's push server ignores the key.
 */
import { createHash } from "node:crypto";
import type { Device, Notification } from "../../core/notification.js";
import { buildFcmData, stringValues } from "../fcm/payload.js";

export type RelayBody = { kind: "body"; body: string } | { kind: "nothing" } | { kind: "bad-default-payload" };

/** The legacy shape's flag for a blob the app decrypts itself (the push server shows a fixed alert). */
const OPAQUE_BLOB_FLAGS = 1;

export function relayBody(n: Notification, device: Device, tag: number, sendBadgeCounts: boolean): RelayBody {
  const built = buildFcmData(n, device, "v1", sendBadgeCounts);
  if (built.kind !== "data") return built;
  const topic = typeof device.data?.topic === "string" ? device.data.topic : (n.room_id ?? "");
  const message = JSON.stringify(stringValues(built.data));
  const id = createHash("sha256").update(message, "utf8").digest("hex");
  return {
    kind: "body",
    body: JSON.stringify({
      topic,
      tag,
      message,
      id,
      payload: { topic, flags: OPAQUE_BLOB_FLAGS, blob: message },
      client_id: device.pushkey,
    }),
  };
}
