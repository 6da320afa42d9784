/**
 * Where Herald's spans go and which are kept, from Herald's `metrics.opentelemetry` or, as far as it maps, Sygnal's
 * `metrics.opentracing` (whose `jaeger` is the Jaeger client's config).
 *
 * `metrics.opentelemetry.enabled` wins: then `metrics.opentracing` is ignored. With only `metrics.opentracing.enabled`,
 * its service name and Jaeger sampler are used, and the spans still go where `metrics.opentelemetry.endpoint` says:
 * Herald exports OTLP/HTTP, and a Jaeger agent's UDP address means nothing to it. Whichever section turns tracing on,
 * a trace that arrives with a sampling decision (Synapse's) keeps it; the ratio or the rate applies to traces Herald
 * starts.
 */
import type { JsonObject } from "../core/notification.js";
import { isJsonObject } from "../core/notification.js";
import { withoutSecrets } from "../core/urlSecrets.js";
import type { OpenTelemetryConfig, OpenTracingConfig } from "./types.js";

export interface TracingSettings {
  /** The section that turned tracing on, for the start-up log line. */
  source: "metrics.opentelemetry" | "metrics.opentracing";
  /** The collector's OTLP/HTTP traces URL. */
  endpoint: string;
  /** Sent with every export; may hold a collector's API key: never logged. */
  headers: Record<string, string>;
  serviceName: string;
  /** For the traces Herald starts: a share of them, or at most so many a second (Jaeger's `ratelimiting`). */
  sampler: { kind: "ratio"; ratio: number } | { kind: "rate"; perSecond: number };
  /** Where the Jaeger trace context is read from: `uber-trace-id`, unless `jaeger.trace_id_header` renames it. */
  jaegerHeader: string;
  /** Attributes of every span's resource: `jaeger.tags`. */
  resourceAttributes: Record<string, string>;
}

export interface ResolvedTracing {
  settings: TracingSettings | undefined;
  warnings: string[];
  /** Config errors, each naming its key. */
  problems: string[];
}

/** The Jaeger clients' initial sampling rate, before the remote sampler has heard from the agent. */
const JAEGER_INITIAL_RATE = 0.001;

/** Keys of the Jaeger client's config that Herald acts on; any other is named in a warning. */
const MAPPED_JAEGER_KEYS = new Set(["sampler", "trace_id_header", "tags", "local_agent"]);

export function resolveTracing(otel: OpenTelemetryConfig, opentracing: OpenTracingConfig): ResolvedTracing {
  const warnings: string[] = [];
  const problems: string[] = [];
  const endpointProblem = urlProblem(otel.endpoint);
  const common = { endpoint: otel.endpoint, headers: otel.headers, jaegerHeader: "uber-trace-id" };
  if (otel.enabled) {
    if (opentracing.enabled)
      warnings.push("metrics.opentracing: metrics.opentelemetry is enabled and configures tracing instead; ignored");
    if (endpointProblem) problems.push(`metrics.opentelemetry.endpoint: ${endpointProblem}`);
    const settings: TracingSettings = {
      source: "metrics.opentelemetry",
      ...common,
      serviceName: otel.service_name,
      sampler: { kind: "ratio", ratio: otel.sampling_ratio },
      resourceAttributes: {},
    };
    return { settings: problems.length > 0 ? undefined : settings, warnings, problems };
  }
  if (!opentracing.enabled) return { settings: undefined, warnings, problems };

  const jaeger = opentracing.jaeger;
  if (endpointProblem) problems.push(`metrics.opentelemetry.endpoint: ${endpointProblem}`);
  const agent = isJsonObject(jaeger.local_agent) ? agentAddress(jaeger.local_agent) : "";
  warnings.push(
    `metrics.opentracing: spans are exported with OpenTelemetry, by OTLP/HTTP to ${withoutSecrets(otel.endpoint)} ` +
      `(metrics.opentelemetry.endpoint), not to a Jaeger agent over UDP${agent}: an agent's address cannot be used ` +
      "for OTLP; point metrics.opentelemetry.endpoint at a collector (Jaeger's receives OTLP/HTTP on port 4318)",
  );
  const sampler = jaegerSampler(jaeger.sampler, warnings, problems);
  const header = jaeger.trace_id_header;
  if (header !== undefined && (typeof header !== "string" || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(header)))
    problems.push(`metrics.opentracing.jaeger.trace_id_header: expected an HTTP header name, found ${shown(header)}`);
  const tags = jaeger.tags;
  if (tags !== undefined && !isJsonObject(tags))
    problems.push(`metrics.opentracing.jaeger.tags: expected a mapping, found ${shown(tags)}`);
  const unmapped = Object.keys(jaeger).filter((key) => !MAPPED_JAEGER_KEYS.has(key));
  if (unmapped.length > 0)
    warnings.push(
      `metrics.opentracing.jaeger: ${unmapped.join(", ")}: no counterpart in Herald's OpenTelemetry tracing; ignored`,
    );
  if (problems.length > 0 || !sampler) return { settings: undefined, warnings, problems };
  return {
    settings: {
      source: "metrics.opentracing",
      ...common,
      serviceName: opentracing.service_name,
      sampler,
      jaegerHeader: typeof header === "string" ? header.toLowerCase() : common.jaegerHeader,
      resourceAttributes: isJsonObject(tags)
        ? Object.fromEntries(Object.entries(tags).map(([key, value]) => [key, String(value)]))
        : {},
    },
    warnings,
    problems,
  };
}

/**
 * The Jaeger client's `sampler: {type, param}`: `const` (param 1 or 0), `probabilistic` (a ratio), `ratelimiting`
 * (traces a second), `remote` or none (the agent's strategies, which cannot be fetched here: the initial rate, the
 * param, else 0.001). Undefined when the config is broken (the problem is pushed).
 */
function jaegerSampler(value: unknown, warnings: string[], problems: string[]): TracingSettings["sampler"] | undefined {
  const key = "metrics.opentracing.jaeger.sampler";
  if (value !== undefined && value !== null && !isJsonObject(value)) {
    problems.push(`${key}: expected a mapping, found ${shown(value)}`);
    return undefined;
  }
  const { type, param } = (value ?? {}) as JsonObject;
  const number = typeof param === "number" ? param : typeof param === "string" ? Number(param) : NaN;
  switch (type ?? "remote") {
    case "const":
      return { kind: "ratio", ratio: param === true || number === 1 || param === "true" ? 1 : 0 };
    case "probabilistic":
      if (!(number >= 0 && number <= 1)) break;
      return { kind: "ratio", ratio: number };
    case "ratelimiting":
    case "rate_limiting":
      if (!(number >= 0)) break;
      return { kind: "rate", perSecond: number };
    case "remote": {
      const ratio = param === undefined || param === null ? JAEGER_INITIAL_RATE : number;
      if (!(ratio >= 0 && ratio <= 1)) break;
      warnings.push(
        `${key}: the remote sampler's strategies come from a Jaeger agent, which Herald does not ask: ` +
          `keeping ${ratio} of the traces Herald starts (its initial rate); traces from Synapse keep their decision`,
      );
      return { kind: "ratio", ratio };
    }
    default:
      problems.push(`${key}.type: expected const, probabilistic, ratelimiting or remote, found ${shown(type)}`);
      return undefined;
  }
  const expected = type === "probabilistic" || type === "remote" ? "a number from 0 to 1" : "a number ≥ 0";
  problems.push(`${key}.param: expected ${expected} for the ${String(type)} sampler, found ${shown(param)}`);
  return undefined;
}

function agentAddress(agent: JsonObject): string {
  const host = agent.reporting_host;
  const port = agent.reporting_port;
  if (host === undefined && port === undefined) return "";
  return ` at ${String(host ?? "localhost")}:${String(port ?? 6831)}`;
}

function urlProblem(url: string): string | undefined {
  try {
    const { protocol } = new URL(url);
    if (protocol === "http:" || protocol === "https:") return undefined;
  } catch {
    // described below
  }
  return `expected an http or https URL, found ${JSON.stringify(withoutSecrets(url))}`;
}

function shown(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `${typeof value} ${JSON.stringify(value)}`;
}
