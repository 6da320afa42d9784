/**
 * Herald's spans, their names and attributes (docs/metrics.md, "Tracing"): one server span per request of /notify,
 * /push and /clients, a child per device of a /notify, and a client span per provider request (each attempt).
 *
 * Every function here takes a TraceParent, which exists only while tracing is on: with tracing off, callers hold
 * `undefined` and make no span, context or attribute, so the hot path pays one property check.
 *
 * No attribute carries a pushkey, a token, a secret or a message's content. Not even a shortened pushkey (as the logs
 * have): with the app id it would tie every trace of a device together, in a store kept apart from the logs and often
 * longer. The request id ties a trace to the log lines, which have the shortened pushkey.
 */
import { SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from "@opentelemetry/api";
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
} from "@opentelemetry/semantic-conventions";
import { publicReasonOf } from "../core/publicReason.js";

/** Where a span is made: the tracer, and the context that holds its parent span. */
export interface TraceParent {
  readonly tracer: Tracer;
  readonly context: Context;
}

/** Herald's own attributes; the HTTP ones are OpenTelemetry's semantic conventions. */
export const SPAN_ATTRIBUTES = {
  requestId: "herald.request_id",
  appId: "herald.app_id",
  pushkin: "herald.pushkin",
  pushkinType: "herald.pushkin.type",
  outcome: "herald.outcome",
  answeredBy: "herald.answered_by",
  breakerScope: "herald.circuit_breaker.scope",
  breakerRetryAfter: "herald.circuit_breaker.retry_after_s",
  attempt: "herald.attempt",
  retry: "herald.retry",
  verdict: "herald.provider.verdict",
  providerReason: "herald.provider.reason",
} as const;
const A = SPAN_ATTRIBUTES;

export const SPAN_NAMES = { device: "dispatch device", providerRequest: "provider request" } as const;

function childOf(parent: TraceParent, span: Span): TraceParent {
  return { tracer: parent.tracer, context: trace.setSpan(parent.context, span) };
}

/** `error.type`: the failure's class (TemporaryFailure, PermanentFailure, CredentialFailure, AbortError, …). */
function errorType(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/** The span's status for a failure: what a homeserver's 502 may say (`publicReason.ts`), never where it happened. */
function failed(span: Span, error: unknown): void {
  span.setAttribute(ATTR_ERROR_TYPE, errorType(error));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? publicReasonOf(error) : "internal error",
  });
}

/** The server span of one request, a child of the context the caller sent (`traceparent`, `uber-trace-id`). */
export function startRequestSpan(
  tracer: Tracer,
  incoming: Context,
  request: { method: string; route: string; requestId: string },
): { span: Span; trace: TraceParent } {
  const span = tracer.startSpan(
    `${request.method} ${request.route}`,
    {
      kind: SpanKind.SERVER,
      attributes: {
        [ATTR_HTTP_REQUEST_METHOD]: request.method,
        [ATTR_HTTP_ROUTE]: request.route,
        [A.requestId]: request.requestId,
      },
    },
    incoming,
  );
  return { span, trace: childOf({ tracer, context: incoming }, span) };
}

export function endRequestSpan(span: Span, status: number): void {
  span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  // The semantic conventions: a server span is an error for a 5xx only; a 4xx is the client's.
  if (status >= 500) {
    span.setAttribute(ATTR_ERROR_TYPE, String(status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

/** Who decided a device's outcome: its provider, or Herald without asking it. */
export type AnsweredBy = "provider" | "routing" | "dead_token_cache" | "duplicate_suppression" | "circuit_breaker";

/** One device of a /notify: from its routing to its outcome. */
export class DeviceSpan {
  /** The parent of the device's provider requests. */
  readonly trace: TraceParent;
  private answeredBy: AnsweredBy = "provider";

  private constructor(
    private readonly span: Span,
    parent: TraceParent,
  ) {
    this.trace = childOf(parent, span);
  }

  /** `pushkin`: the app's (config key and type), when the app id matched one. */
  static start(parent: TraceParent, appId: string, pushkin: { name: string; type: string } | undefined): DeviceSpan {
    const span = parent.tracer.startSpan(
      SPAN_NAMES.device,
      {
        kind: SpanKind.INTERNAL,
        attributes: pushkin
          ? { [A.appId]: appId, [A.pushkin]: pushkin.name, [A.pushkinType]: pushkin.type }
          : { [A.appId]: appId },
      },
      parent.context,
    );
    return new DeviceSpan(span, parent);
  }

  /** The breaker short-circuited the device: the app's, or that of the push service the device chose. */
  circuitOpen(scope: "app" | "origin", retryAfterSeconds: number): void {
    this.answeredBy = "circuit_breaker";
    this.span.setAttributes({ [A.breakerScope]: scope, [A.breakerRetryAfter]: retryAfterSeconds });
  }

  /** `error`: the failure, when the outcome is `failed`. */
  end(outcome: "delivered" | "rejected" | "skipped" | "failed", error: unknown, answeredBy = this.answeredBy): void {
    this.span.setAttributes({ [A.outcome]: outcome, [A.answeredBy]: answeredBy });
    if (outcome === "failed") failed(this.span, error);
    this.span.end();
  }
}

/** One provider request: an attempt of `core/retry.ts`, answered or failed. */
export class AttemptSpan {
  private constructor(private readonly span: Span) {}

  static start(parent: TraceParent, attempt: number): AttemptSpan {
    return new AttemptSpan(
      parent.tracer.startSpan(
        SPAN_NAMES.providerRequest,
        { kind: SpanKind.CLIENT, attributes: { [A.attempt]: attempt } },
        parent.context,
      ),
    );
  }

  /** The provider answered: its status, what Herald made of it, and the provider's own word (`BadDeviceToken`). */
  answered(status: number, verdict: string, reason: string | undefined): void {
    this.span.setAttributes({ [ATTR_HTTP_RESPONSE_STATUS_CODE]: status, [A.verdict]: verdict });
    if (reason !== undefined) this.span.setAttribute(A.providerReason, reason);
  }

  succeeded(): void {
    this.span.setAttribute(A.retry, false);
    this.span.end();
  }

  /** The attempt failed; `retry`: another attempt follows. An answer the failure carries is recorded. */
  failed(error: unknown, retry: boolean): void {
    const answer = (error as { answer?: { status: number; reason?: string } } | undefined)?.answer;
    if (answer) {
      this.span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, answer.status);
      if (answer.reason !== undefined) this.span.setAttribute(A.providerReason, answer.reason);
    }
    this.span.setAttribute(A.retry, retry);
    failed(this.span, error);
    this.span.end();
  }
}
