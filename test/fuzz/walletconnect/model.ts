/**
 * A reference model of WalletConnect's push-server API as Herald serves it (docs/walletconnect.md, reference/peers.md
 * §2.3): the registry a run of requests leaves (a client per id, one id per token; a token registered under a new id
 * moves there; an unregistered client is gone with the messages it was sent), and the answer to each request: 200
 * SUCCESS for a registration or an unregistration, 202 for a message to no client or a delivered one, 200 with no
 * body for a message already pushed (to this client, or to another: one client per message), 400 naming the missing
 * shape.
 *
 * With Herald's owners: a JWT that does not authenticate the client is 401; a client registered with its own JWT is
 * owned, and only its own JWT registers it again or deletes it (401 otherwise); its token does not move (409).
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
  /** Registered with its own key's JWT. */
  owned?: boolean;
}

/** How a registration or deletion is authenticated: not at all, by the client's own JWT, or by one that fails. */
export type Auth = "none" | "own" | "invalid";

/** The answer the API documents: a status, and the body's `status` and first error name (undefined: no body). */
export interface Expected {
  status: number;
  body: "SUCCESS" | "none" | { error: string; field?: string };
}

export class RegistryModel {
  readonly clients = new Map<string, ModelClient>();
  /** `client id|message id` of every message pushed. */
  private readonly pushed = new Set<string>();

  register(id: string, client: ModelClient, auth: Auth = "none"): Expected {
    if (auth === "invalid") return UNAUTHENTICATED;
    if (this.clients.get(id)?.owned && auth !== "own") return UNAUTHENTICATED;
    const holders = [...this.clients].filter(([other, held]) => other !== id && held.token === client.token);
    if (holders.some(([, held]) => held.owned)) return { status: 409, body: { error: "token_owned", field: "token" } };
    for (const [other] of holders) this.forget(other);
    this.clients.set(id, { ...client, owned: auth === "own" });
    return { status: 200, body: "SUCCESS" };
  }

  unregister(id: string, auth: Auth = "none"): Expected {
    if (auth === "invalid") return UNAUTHENTICATED;
    if (this.clients.get(id)?.owned && auth !== "own") return UNAUTHENTICATED;
    this.forget(id);
    return { status: 200, body: "SUCCESS" };
  }

  /**
   * A signed relay message holding the raw shape, the legacy shape, or both, and maybe naming a client (`named`,
   * without did:key:): one naming another is 400; one naming its client is that client's alone, one naming none goes
   * to the first client it reaches.
   */
  push(id: string, message: { raw?: string; legacy?: string; named?: string }): Expected & { sentTo?: ModelClient } {
    if (message.named !== undefined && message.named !== id) {
      return { status: 400, body: { error: "field", field: "client_id" } };
    }
    const client = this.clients.get(id);
    if (client === undefined) return { status: 202, body: "SUCCESS" };
    const shape = client.alwaysRaw ? message.raw : message.legacy;
    if (shape === undefined) {
      const field = client.alwaysRaw ? "missing topic, tag, or message field" : "missing id or payload field";
      return { status: 400, body: { error: "field", field } };
    }
    const messageId = client.alwaysRaw ? sha256(shape) : shape;
    const key = `${id}|${messageId}`;
    if (this.pushed.has(key)) return { status: 200, body: "none" };
    if (message.named === undefined) {
      const ids = new Set<string>();
      if (message.raw !== undefined) ids.add(sha256(message.raw));
      if (message.legacy !== undefined) ids.add(message.legacy);
      for (const pushed of this.pushed) {
        const [other, pushedId] = [pushed.slice(0, pushed.indexOf("|")), pushed.slice(pushed.indexOf("|") + 1)];
        if (other !== id && ids.has(pushedId)) return { status: 200, body: "none" };
      }
    }
    this.pushed.add(key);
    return { status: 202, body: "none", sentTo: client };
  }

  private forget(id: string): void {
    this.clients.delete(id);
    for (const key of this.pushed) if (key.startsWith(`${id}|`)) this.pushed.delete(key);
  }
}

const UNAUTHENTICATED: Expected = { status: 401, body: { error: "authentication", field: "authorization" } };

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

/** Every leading `did:key:` goes, as the original's trim_start_matches. */
export function stripDidKey(id: string): string {
  let out = id;
  while (out.startsWith("did:key:")) out = out.slice("did:key:".length);
  return out;
}
