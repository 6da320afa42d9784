/**
 * The OpenTelemetry SDK behind `Tracing`, loaded only when tracing is on: a tracer provider whose sampler follows the
 * caller's decision and applies the configured ratio or rate to the traces Herald starts, a batch processor, and the
 * OTLP/HTTP exporter (JSON) to the collector. No global is registered: each Herald (a test runs several in one
 * process) has its own provider, and nothing else in the process is traced by it.
 */
import { ROOT_CONTEXT, defaultTextMapGetter } from "@opentelemetry/api";
import {
  CompositePropagator,
  ExportResultCode,
  W3CTraceContextPropagator,
  type ExportResult,
} from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { JaegerPropagator } from "@opentelemetry/propagator-jaeger";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import type { Logger } from "pino";
import type { TracingSettings } from "../config/tracing.js";
import { withoutSecrets } from "../core/urlSecrets.js";
import { RateLimitedSampler } from "./rateLimitedSampler.js";
import type { Tracing } from "./tracing.js";

/**
 * One export may take this long: shorter than the shutdown's grace for closing (server.ts), so that the last export
 * ends, sent or given up, before the process is expected to be gone.
 */
const EXPORT_TIMEOUT_MS = 2000;
/** Attribute values are Herald's own and short; a provider's reason is cut here. */
const ATTRIBUTE_VALUE_LIMIT = 256;

export function createTracing(settings: TracingSettings, log: Logger): Tracing {
  const exporter = new OTLPTraceExporter({
    url: settings.endpoint,
    headers: settings.headers,
    timeoutMillis: EXPORT_TIMEOUT_MS,
  });
  const root =
    settings.sampler.kind === "rate"
      ? new RateLimitedSampler(settings.sampler.perSecond)
      : new TraceIdRatioBasedSampler(settings.sampler.ratio);
  const provider = new BasicTracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({ ...settings.resourceAttributes, [ATTR_SERVICE_NAME]: settings.serviceName }),
    ),
    sampler: new ParentBasedSampler({ root }),
    spanLimits: { attributeValueLengthLimit: ATTRIBUTE_VALUE_LIMIT },
    spanProcessors: [
      new BatchSpanProcessor(new LoggedExporter(exporter, log), { exportTimeoutMillis: EXPORT_TIMEOUT_MS }),
    ],
  });
  // Jaeger's first: a request that carries both contexts continues the W3C one.
  const propagator = new CompositePropagator({
    propagators: [new JaegerPropagator(settings.jaegerHeader), new W3CTraceContextPropagator()],
  });
  log.info(
    { endpoint: withoutSecrets(settings.endpoint), service_name: settings.serviceName, sampler: root.toString() },
    `Tracing: exporting spans by OTLP/HTTP (${settings.source})`,
  );
  return {
    tracer: provider.getTracer("herald"),
    extract: (headers) => propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/** Logs when exports start failing, and when they work again: once each, not at every batch. */
class LoggedExporter implements SpanExporter {
  private failing = false;

  constructor(
    private readonly exporter: SpanExporter,
    private readonly log: Logger,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.exporter.export(spans, (result) => {
      const failed = result.code !== ExportResultCode.SUCCESS;
      if (failed && !this.failing)
        this.log.warn({ reason: result.error?.message }, "Tracing: the collector did not take the spans; dropped");
      else if (!failed && this.failing) this.log.info("Tracing: the collector takes spans again");
      this.failing = failed;
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.exporter.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.exporter.forceFlush?.() ?? Promise.resolve();
  }
}
