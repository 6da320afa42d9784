/**
 * What an APNs answer means for the device (design.md, "What Herald does with each provider answer").
 * Only Apple saying the token is dead rejects it. TopicDisallowed is a configuration error, not a dead token: it would
 * otherwise delete every pusher of the app.
 */
export type ApnsVerdict =
  | { kind: "delivered" }
  | { kind: "rejected"; why: string }
  /** The JWT is too old: sign a new one and try once more. */
  | { kind: "renew-token" }
  | { kind: "retry"; why: string }
  | { kind: "configuration-error"; why: string };

const DEAD_TOKEN: Record<number, string[]> = {
  400: ["BadDeviceToken", "DeviceTokenNotForTopic"],
  410: ["Unregistered", "ExpiredToken"],
};

export function classifyApnsAnswer(status: number, reason: string | undefined): ApnsVerdict {
  const what = `APNs answered ${status}${reason ? ` ${reason}` : ""}`;
  if (status >= 200 && status < 300) return { kind: "delivered" };
  if (reason && DEAD_TOKEN[status]?.includes(reason)) return { kind: "rejected", why: what };
  if (status === 403 && reason === "ExpiredProviderToken") return { kind: "renew-token" };
  if (status === 429 || status >= 500) return { kind: "retry", why: what };
  return { kind: "configuration-error", why: what };
}

/** Apple's error body is `{"reason": "...", "timestamp": ...}`; anything else yields no reason. */
export function reasonOf(body: Buffer): string | undefined {
  if (body.length === 0) return undefined;
  try {
    const parsed = JSON.parse(body.toString("utf8")) as { reason?: unknown };
    return typeof parsed.reason === "string" ? parsed.reason : undefined;
  } catch {
    return undefined;
  }
}
