/**
 * What a Threema Gateway `/send_e2e` answer means (pure). 200 carries the new message's id. 400 says the recipient's
 * Threema ID is unknown, revoked or has no public key: that user can never be reached. 401, 402 and 413 are the
 * account's or Herald's problem, the same for every user, and must not delete anyone's pusher. 429 and 5xx pass.
 */
import type { IncomingHttpHeaders } from "node:http";
import { parseRetryAfter } from "../../core/retry.js";

export type ThreemaVerdict =
  | { kind: "delivered"; messageId: string | undefined }
  | { kind: "rejected"; why: string }
  | { kind: "retry"; why: string; retryAfter: number | undefined }
  /** Needs the operator: `why` says what to fix. */
  | { kind: "fail"; why: string };

/** The operator's fix for each answer that no retry can mend. */
const CONFIGURATION_ERRORS: Record<number, string> = {
  401: "the gateway ID or its API secret is wrong: check identity and secret",
  402: "the gateway account has no credits left: buy credits at gateway.threema.ch",
  413: "the message is too long for Threema: keep the pusher's default_payload small",
};

const MESSAGE_ID = /^[0-9a-f]{16}$/i;

export function classifyThreemaAnswer(status: number, body: Buffer, headers: IncomingHttpHeaders): ThreemaVerdict {
  if (status === 200) {
    const id = body.toString("utf8").trim();
    return { kind: "delivered", messageId: MESSAGE_ID.test(id) ? id : undefined };
  }
  const what = `Threema Gateway answered ${status}`;
  if (status === 400) {
    return { kind: "rejected", why: `${what}: the recipient's Threema ID is unknown or revoked, or has no public key` };
  }
  const fix = CONFIGURATION_ERRORS[status];
  if (fix !== undefined) return { kind: "fail", why: `${what}: ${fix}` };
  if (status === 429 || status >= 500) {
    return { kind: "retry", why: what, retryAfter: parseRetryAfter(headers["retry-after"]) };
  }
  return { kind: "fail", why: `${what}, which Herald does not expect from /send_e2e` };
}
