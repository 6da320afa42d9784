/**
 * Tracing as the rest of Herald sees it: a tracer, the reading of a caller's trace context, and a shutdown that
 * exports what is left. Off by default; when off there is no Tracing at all, and the OpenTelemetry SDK is not even
 * loaded (`tracingSdk.ts` is imported only when a config turns tracing on).
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Context, Tracer } from "@opentelemetry/api";
import type { Logger } from "pino";
import type { TracingSettings } from "../config/tracing.js";

export interface Tracing {
  readonly tracer: Tracer;
  /** The caller's trace context, from W3C's `traceparent` or Jaeger's `uber-trace-id` (the former wins). */
  extract(headers: IncomingHttpHeaders): Context;
  /** Exports the spans that ended and are still buffered. */
  flush(): Promise<void>;
  /** Exports what is buffered, then stops; the caller bounds how long it waits. */
  shutdown(): Promise<void>;
}

export async function startTracing(settings: TracingSettings | undefined, log: Logger): Promise<Tracing | undefined> {
  if (!settings) return undefined;
  const { createTracing } = await import("./tracingSdk.js");
  return createTracing(settings, log);
}
