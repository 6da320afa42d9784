/**
 * Retries with exponential backoff and jitter, inside the request's deadline.
 *
 * Only a `TemporaryFailure` is retried. A provider's `Retry-After` replaces the backoff; a wait that would end after
 * the deadline is not started: the failure is thrown at once, so the homeserver hears 502 while it can still act.
 *
 * Every provider request of every provider goes through here, one attempt each: so each attempt's span is made here
 * (while tracing is on), whatever the provider.
 */
import { publicReasonOf } from "./publicReason.js";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { AttemptSpan, type TraceParent } from "../observability/spans.js";
import { TemporaryFailure } from "./pushkin.js";

export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  maxAttempts: number;
  /** Delay before the second attempt; doubles with each further one. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface RetryContext {
  deadline: number;
  signal: AbortSignal;
  /** Called before each wait, for logging. */
  onRetry?: (failure: TemporaryFailure, attempt: number, delayMs: number) => void;
  /** The span the attempts' spans are children of; absent when tracing is off. */
  trace?: TraceParent;
}

/** Backoff before attempt `attempt + 1` (attempt counts from 1): half fixed, half random ("equal jitter"). */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return ceiling / 2 + random() * (ceiling / 2);
}

/** `span`, present while tracing is on: the attempt's, for what the provider answered. */
export async function withRetries<T>(
  policy: RetryPolicy,
  ctx: RetryContext,
  attempt: (attemptNumber: number, span: AttemptSpan | undefined) => Promise<T>,
): Promise<T> {
  for (let n = 1; ; n++) {
    const span = ctx.trace && AttemptSpan.start(ctx.trace, n);
    try {
      const result = await attempt(n, span);
      span?.succeeded();
      return result;
    } catch (error) {
      if (!(error instanceof TemporaryFailure) || n >= policy.maxAttempts) {
        span?.failed(error, false);
        throw error;
      }
      const delay = error.retryAfter !== undefined ? error.retryAfter * 1000 : backoffDelay(policy, n);
      if (Date.now() + delay >= ctx.deadline) {
        span?.failed(error, false);
        const late = " (no time left before the deadline to retry)";
        throw new TemporaryFailure(`${error.message}${late}`, {
          retryAfter: error.retryAfter,
          answer: error.answer,
          appFault: error.appFault,
          cause: error,
          publicReason: `${publicReasonOf(error)}${late}`,
        });
      }
      span?.failed(error, true);
      ctx.onRetry?.(error, n, delay);
      await sleep(delay, undefined, { signal: ctx.signal }).catch(() => {
        throw ctx.signal.reason instanceof Error ? ctx.signal.reason : error;
      });
    }
  }
}

/** A `Retry-After` header in seconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim());
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

/** An `onRetry` that logs each wait at info, with a logger made only when there is a retry to log. */
export function logRetries(log: () => Logger): NonNullable<RetryContext["onRetry"]> {
  return (failure, attempt, delayMs) =>
    log().info({ attempt, delay_ms: Math.round(delayMs), reason: failure.message }, "Temporary failure, will retry");
}
