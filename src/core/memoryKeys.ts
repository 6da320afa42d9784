/**
 * The keys of the dispatcher's memory (`dispatchMemory.ts`): a token is its app id and pushkey, a delivery its event
 * id, app id and pushkey. Each is made once a request, as its SHA-1 digest (27 characters): the key itself is several
 * hundred bytes, a full memory holds a hundred thousand of them, and every memory (this process's, the primary's,
 * Redis) keeps the digest as it is. A collision, which would make two keys one, is as likely as a SHA-1 collision.
 */
import { hash } from "node:crypto";
import type { Device } from "./notification.js";

export function tokenKey(device: Device): string {
  return hash("sha1", `${device.app_id}\u0000${device.pushkey}`, "base64url");
}

export function deliveryKey(eventId: string, device: Device): string {
  return hash("sha1", `${eventId}\u0000${device.app_id}\u0000${device.pushkey}`, "base64url");
}
