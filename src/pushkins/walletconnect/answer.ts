/**
 * What a WalletConnect push server's answer to `POST /clients/:id` means (pure). WalletConnect's push server answers
 * 202 with an empty body once the provider took the message, 200 for a message it already pushed, 202 with a body for
 * a client it does not know (SUCCESS: it has nobody to push to) or, as FAILURE, for a message it could not send:
 * `client_deleted` when the provider declared the device token dead (the pusher is dead too), anything else (its
 * provider credentials were refused: `tenant_suspended`; a blob it could not read) is not the device's fault.
 */
import type { IncomingHttpHeaders } from "node:http";
import { parseRetryAfter } from "../../core/retry.js";

export type PushServerVerdict =
  | { kind: "delivered"; note?: string }
  | { kind: "rejected"; why: string }
  | { kind: "retry"; why: string; retryAfter: number | undefined }
  /** The push server does not accept our signing key. */
  | { kind: "unauthorized"; why: string }
  | { kind: "fail"; why: string };

export function classifyPushServerAnswer(
  status: number,
  body: Buffer,
  headers: IncomingHttpHeaders,
): PushServerVerdict {
  const what = `the push server answered ${status}`;
  const errors = errorNames(body);
  if (status === 200 || status === 202) {
    if (errors.includes("client_deleted")) return { kind: "rejected", why: `${what} client_deleted` };
    if (errors.length > 0) return { kind: "fail", why: `${what} ${errors.join(", ")}: it could not push the message` };
    if (status === 202 && body.length > 0)
      return { kind: "delivered", note: "the push server does not know this client" };
    return { kind: "delivered" };
  }
  if (status === 401) return { kind: "unauthorized", why: `${what}: it refused the signature` };
  if (status === 429 || status >= 500) {
    return { kind: "retry", why: `${what}${describe(errors)}`, retryAfter: parseRetryAfter(headers["retry-after"]) };
  }
  return { kind: "fail", why: `${what}${describe(errors)}` };
}

/** The `errors[].name` of a FAILURE body; none for any other body. */
function errorNames(body: Buffer): string[] {
  try {
    const parsed = JSON.parse(body.toString("utf8")) as { status?: unknown; errors?: unknown };
    if (parsed.status !== "FAILURE" || !Array.isArray(parsed.errors)) return [];
    return parsed.errors
      .map((error: unknown) => (error as { name?: unknown } | null)?.name)
      .filter((name): name is string => typeof name === "string");
  } catch {
    return [];
  }
}

function describe(errors: string[]): string {
  return errors.length > 0 ? ` (${errors.join(", ")})` : "";
}
