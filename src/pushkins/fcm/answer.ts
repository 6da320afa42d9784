/**
 * What an FCM answer means for the device (design.md's table). Only FCM saying the registration token is dead
 * rejects it: v1 404 UNREGISTERED, v1 400 INVALID_ARGUMENT that names the token, legacy per-result token errors.
 * Everything else that is not delivered is retried (429, 5xx) or answered 502.
 */
import { isJsonObject } from "../../core/notification.js";

export type FcmVerdict =
  | { kind: "delivered" }
  | { kind: "rejected"; why: string }
  /** The access token was refused: fetch a new one and try once more. */
  | { kind: "renew-token"; why: string }
  | { kind: "retry"; why: string }
  | { kind: "fail"; why: string };

interface GoogleError {
  status?: string;
  message?: string;
  details?: { "@type"?: string; errorCode?: string; fieldViolations?: { field?: string }[] }[];
}

/** The verdict, with FCM's error code (the FcmError's, else the Google status) when it gave one. */
export function classifyV1Answer(status: number, body: Buffer): FcmVerdict & { code: string | undefined } {
  if (status >= 200 && status < 300) return { kind: "delivered", code: undefined };
  const error = googleError(body);
  const code = error?.details?.find((d) => d["@type"]?.endsWith("FcmError"))?.errorCode ?? error?.status;
  const why = `FCM answered ${status}${code ? ` ${code}` : ""}${error?.message ? `: ${error.message}` : ""}`;
  const verdict = (kind: Exclude<FcmVerdict["kind"], "delivered">) => ({ kind, why, code });
  if (status === 404) return verdict("rejected");
  if (status === 400 && code === "INVALID_ARGUMENT" && namesTheToken(error!)) return verdict("rejected");
  if (status === 401) return verdict("renew-token");
  if (status === 429 || status >= 500) return verdict("retry");
  return verdict("fail");
}

/** FCM says INVALID_ARGUMENT for any bad field; only one about `message.token` means the token is dead. */
function namesTheToken(error: GoogleError): boolean {
  const violations = error.details?.flatMap((d) => d.fieldViolations ?? []) ?? [];
  if (violations.length > 0) return violations.some((v) => v.field === "message.token");
  return /registration token/i.test(error.message ?? "");
}

function googleError(body: Buffer): GoogleError | undefined {
  try {
    const parsed: unknown = JSON.parse(body.toString("utf8"));
    return isJsonObject(parsed) && isJsonObject(parsed.error) ? (parsed.error as GoogleError) : undefined;
  } catch {
    return undefined;
  }
}

/** Legacy per-result errors that mean the registration id can never be served (Sygnal's BAD_PUSHKEY). */
export const LEGACY_DEAD_TOKEN = new Set([
  "MissingRegistration",
  "InvalidRegistration",
  "NotRegistered",
  "InvalidPackageName",
  "MismatchSenderId",
]);
/** Legacy per-result errors about the message itself: not retried, not a dead token (Sygnal's BAD_MESSAGE). */
export const LEGACY_BAD_MESSAGE = new Set(["MessageTooBig", "InvalidDataKey", "InvalidTtl"]);
