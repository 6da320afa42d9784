/**
 * The one place where a provider's answer becomes what the caller is told: tries one exchange after another, with
 * backoff, until the provider delivers, declares the token dead, or refuses for good, within the deadline. Each
 * provider client only classifies one answer into a verdict (its own rules: design.md's table); the failures thrown,
 * their `answer`, and the log lines of rejections and refusals are the same for every provider.
 */
import type { ProviderAnswer } from "./pushkin.js";
import {
  CredentialFailure,
  PermanentFailure,
  TemporaryFailure,
  type Delivery,
  type DeliveryContext,
} from "./pushkin.js";
import { logRetries, withRetries, type RetryPolicy } from "./retry.js";

/** What one exchange with a provider came to. */
export type ExchangeVerdict = (
  | { kind: "delivered" }
  /** The provider said the token is dead. */
  | { kind: "rejected"; why: string }
  | { kind: "retry"; why: string; retryAfter?: number }
  /** The credentials, not the device, are at fault: every push of the app fails alike until `fix` is done. */
  | { kind: "credentials"; why: string; fix: string }
  /** The request can never succeed as configured. */
  | { kind: "fail"; why: string }
) & { answer: ProviderAnswer };

export interface ProviderNames {
  /** e.g. "APNs": "APNs refused the request: …". */
  provider: string;
  /** e.g. "APNs token": "APNs token was rejected: …". */
  recipient: string;
}

const RETRY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 2000 };

export function deliverWithRetries(
  names: ProviderNames,
  ctx: DeliveryContext,
  exchange: (attempt: number) => Promise<ExchangeVerdict>,
): Promise<Delivery> {
  return withRetries(RETRY, { ...ctx, onRetry: logRetries(ctx.log) }, async (attempt, span) => {
    const verdict = await exchange(attempt);
    const { answer } = verdict;
    span?.answered(answer.status, verdict.kind, answer.reason);
    switch (verdict.kind) {
      case "delivered":
        return { kind: "delivered" };
      case "rejected":
        ctx.log().info({ status: answer.status }, `${names.recipient} was rejected: ${verdict.why}`);
        return { kind: "rejected", why: verdict.why };
      case "retry":
        throw new TemporaryFailure(verdict.why, { retryAfter: verdict.retryAfter, answer });
      case "credentials":
        // Logged once, when the app's credentials start failing, by whoever watches them (CredentialHealth).
        throw new CredentialFailure(verdict.why, { fix: verdict.fix, answer });
      case "fail":
        ctx.log().error({ status: answer.status }, `${names.provider} refused the request: ${verdict.why}`);
        throw new PermanentFailure(verdict.why, { answer });
    }
  });
}

/** A token the caller can tell is no device's (empty, too long): rejected without asking the provider, logged alike. */
export function rejectUnsent(names: ProviderNames, ctx: DeliveryContext, why: string): Promise<Delivery> {
  ctx.log().info(`${names.recipient} was rejected, nothing sent: ${why}`);
  return Promise.resolve({ kind: "rejected", why });
}
