/**
 * A reference model of WalletConnect's push-server API as Herald serves it (docs/walletconnect.md, reference/peers.md
 * §2.3): the registry a run of requests leaves (a client per id, one id per token; a token registered under a new id
 * moves there; an unregistered client is gone with the messages it was sent), and the answer to each request: 200
 * SUCCESS for a registration or an unregistration, 202 for a message to no client or a delivered one, 200 with no
 * body for a message already pushed, 400 naming the missing shape.
 */
import { createHash } from "node:crypto";

export const CLIENTS_PATH = "/clients";
export const MAX_BODY_BYTES = 1024 * 1024;
export const PUSH_TYPES = ["apns", "apns-sandbox", "fcm", "noop"] as const;
export type PushType = (typeof PUSH_TYPES)[number];

export interface ModelClient {
  type: PushType;
  token: string;
  alwaysRaw: boolean;
}

/** The answer the API documents: a status, and the body's `status` and first error name (undefined: no body). */
export interface Expected {
  status: number;
  body: "SUCCESS" | "none" | { error: string; field?: string };
}

export class RegistryModel {
  readonly clients = new Map<string, ModelClient>();
  /** `client id|message id` of every message pushed. */
  private readonly pushed = new Set<string>();

  register(id: string, client: ModelClient): Expected {
    for (const [other, held] of this.clients) {
      if (other !== id && held.token === client.token) this.forget(other);
    }
    this.clients.set(id, client);
    return { status: 200, body: "SUCCESS" };
  }

  unregister(id: string): Expected {
    this.forget(id);
    return { status: 200, body: "SUCCESS" };
  }

  /** A signed relay message holding the raw shape, the legacy shape, or both. */
  push(id: string, message: { raw?: string; legacy?: string }): Expected & { sentTo?: ModelClient } {
    const client = this.clients.get(id);
    if (client === undefined) return { status: 202, body: "SUCCESS" };
    const shape = client.alwaysRaw ? message.raw : message.legacy;
    if (shape === undefined) {
      const field = client.alwaysRaw ? "missing topic, tag, or message field" : "missing id or payload field";
      return { status: 400, body: { error: "field", field } };
    }
    const messageId = client.alwaysRaw ? createHash("sha256").update(shape, "utf8").digest("hex") : shape;
    const key = `${id}|${messageId}`;
    if (this.pushed.has(key)) return { status: 200, body: "none" };
    this.pushed.add(key);
    return { status: 202, body: "none", sentTo: client };
  }

  private forget(id: string): void {
    this.clients.delete(id);
    for (const key of this.pushed) if (key.startsWith(`${id}|`)) this.pushed.delete(key);
  }
}

/** Every leading `did:key:` goes, as the original's trim_start_matches. */
export function stripDidKey(id: string): string {
  let out = id;
  while (out.startsWith("did:key:")) out = out.slice("did:key:".length);
  return out;
}
