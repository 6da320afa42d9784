/**
 * What `metrics.opentelemetry` and Sygnal's `metrics.opentracing` make of tracing: the settings, the warnings for
 * what cannot map (a Jaeger agent's address, a remote sampler, keys with no counterpart), and the errors.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, parseConfig } from "../../src/config/load.js";
import { RateLimitedSampler } from "../../src/observability/rateLimitedSampler.js";

const APPS = "apps:\n  com.example.app:\n    type: ./pushkin.js\n";

function load(metrics: string) {
  return parseConfig(`metrics: ${metrics}\n${APPS}`, "/etc/herald/sygnal.yaml", {});
}

function problemsOf(metrics: string): string[] {
  try {
    load(metrics);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  assert.fail("expected a ConfigError");
}

describe("metrics.opentelemetry", () => {
  test("off by default: no tracing, no warning", () => {
    const { config, warnings } = load("{}");
    assert.equal(config.tracing, undefined);
    assert.deepEqual(warnings, []);
  });

  test("enabled: its endpoint, headers, service name and ratio, defaults otherwise", () => {
    assert.deepEqual(load("{opentelemetry: {enabled: true}}").config.tracing, {
      source: "metrics.opentelemetry",
      endpoint: "http://localhost:4318/v1/traces",
      headers: {},
      serviceName: "herald",
      sampler: { kind: "ratio", ratio: 1 },
      jaegerHeader: "uber-trace-id",
      resourceAttributes: {},
    });
    const { config, warnings } = load(
      "{opentelemetry: {enabled: true, endpoint: 'https://otel.example.org/v1/traces', service_name: push, sampling_ratio: 0.25, headers: {x-api-key: k}}}",
    );
    assert.deepEqual(warnings, []);
    assert.equal(config.tracing?.endpoint, "https://otel.example.org/v1/traces");
    assert.deepEqual(config.tracing?.headers, { "x-api-key": "k" });
    assert.equal(config.tracing?.serviceName, "push");
    assert.deepEqual(config.tracing?.sampler, { kind: "ratio", ratio: 0.25 });
  });

  test("wins over metrics.opentracing, which is then ignored with a warning", () => {
    const { config, warnings } = load("{opentelemetry: {enabled: true}, opentracing: {enabled: true}}");
    assert.equal(config.tracing?.source, "metrics.opentelemetry");
    assert.deepEqual(warnings, [
      "metrics.opentracing: metrics.opentelemetry is enabled and configures tracing instead; ignored",
    ]);
  });

  test("a ratio outside 0..1, a URL that is not http(s), a header that is not a string: errors naming the key", () => {
    assert.match(problemsOf("{opentelemetry: {enabled: true, sampling_ratio: 2}}").join("\n"), /sampling_ratio/);
    assert.match(problemsOf("{opentelemetry: {enabled: true, endpoint: 'udp://x:6831'}}").join("\n"), /endpoint/);
    assert.match(problemsOf("{opentelemetry: {enabled: true, headers: {a: [1]}}}").join("\n"), /headers\.a/);
  });
});

describe("Sygnal's metrics.opentracing, as far as it maps", () => {
  test("its service name and sampler; the spans go by OTLP to metrics.opentelemetry.endpoint, as a warning says", () => {
    const { config, warnings } = load(
      "{opentelemetry: {endpoint: 'http://collector:4318/v1/traces'}, opentracing: {enabled: true, implementation: jaeger, service_name: sygnal, jaeger: {sampler: {type: probabilistic, param: 0.1}, local_agent: {reporting_host: jaeger-agent, reporting_port: 6831}}}}",
    );
    assert.deepEqual(config.tracing, {
      source: "metrics.opentracing",
      endpoint: "http://collector:4318/v1/traces",
      headers: {},
      serviceName: "sygnal",
      sampler: { kind: "ratio", ratio: 0.1 },
      jaegerHeader: "uber-trace-id",
      resourceAttributes: {},
    });
    assert.deepEqual(warnings, [
      "metrics.opentracing: spans are exported with OpenTelemetry, by OTLP/HTTP to http://collector:4318/v1/traces (metrics.opentelemetry.endpoint), not to a Jaeger agent over UDP at jaeger-agent:6831: an agent's address cannot be used for OTLP; point metrics.opentelemetry.endpoint at a collector (Jaeger's receives OTLP/HTTP on port 4318)",
    ]);
  });

  test("each Jaeger sampler: const, probabilistic, ratelimiting, remote and none", () => {
    const sampler = (yaml: string) => load(`{opentracing: {enabled: true, jaeger: {sampler: ${yaml}}}}`);
    assert.deepEqual(sampler("{type: const, param: 1}").config.tracing?.sampler, { kind: "ratio", ratio: 1 });
    assert.deepEqual(sampler("{type: const, param: 0}").config.tracing?.sampler, { kind: "ratio", ratio: 0 });
    assert.deepEqual(sampler("{type: ratelimiting, param: 2.5}").config.tracing?.sampler, {
      kind: "rate",
      perSecond: 2.5,
    });
    const remote = sampler("{type: remote, param: 0.2}");
    assert.deepEqual(remote.config.tracing?.sampler, { kind: "ratio", ratio: 0.2 });
    assert.ok(remote.warnings.some((w) => w.startsWith("metrics.opentracing.jaeger.sampler: the remote sampler's")));
    // Sygnal's default `jaeger: {}`: the Jaeger client's remote sampler, at its initial rate.
    const none = load("{opentracing: {enabled: true}}");
    assert.deepEqual(none.config.tracing?.sampler, { kind: "ratio", ratio: 0.001 });
    assert.equal(none.warnings.length, 2);
  });

  test("trace_id_header and tags are honoured; keys with no counterpart are named in a warning", () => {
    const { config, warnings } = load(
      "{opentracing: {enabled: true, jaeger: {sampler: {type: const, param: 1}, trace_id_header: X-Trace, tags: {dc: eu, shard: 3}, logging: true, reporter_queue_size: 100}}}",
    );
    assert.equal(config.tracing?.jaegerHeader, "x-trace");
    assert.deepEqual(config.tracing?.resourceAttributes, { dc: "eu", shard: "3" });
    assert.equal(
      warnings[1],
      "metrics.opentracing.jaeger: logging, reporter_queue_size: no counterpart in Herald's OpenTelemetry tracing; ignored",
    );
  });

  test("an unknown sampler type, a param out of range: errors naming the key, as the Jaeger client refuses them", () => {
    assert.deepEqual(problemsOf("{opentracing: {enabled: true, jaeger: {sampler: {type: adaptive}}}}"), [
      'metrics.opentracing.jaeger.sampler.type: expected const, probabilistic, ratelimiting or remote, found string "adaptive"',
    ]);
    assert.deepEqual(problemsOf("{opentracing: {enabled: true, jaeger: {sampler: {type: probabilistic, param: 5}}}}"), [
      "metrics.opentracing.jaeger.sampler.param: expected a number from 0 to 1 for the probabilistic sampler, found number 5",
    ]);
  });

  test("off, its jaeger section is not looked at", () => {
    assert.deepEqual(load("{opentracing: {enabled: false, jaeger: {sampler: {type: adaptive}}}}").warnings, []);
  });
});

describe("Jaeger's ratelimiting sampler", () => {
  test("keeps at most its rate of the traces Herald starts, with a burst of one second's worth", () => {
    const sampler = new RateLimitedSampler(2);
    const kept = Array.from({ length: 5 }, () => sampler.shouldSample().decision);
    // RECORD_AND_SAMPLED is 2, NOT_RECORD 0: two kept, then none until credit comes back.
    assert.deepEqual(kept.slice(0, 2), [2, 2]);
    assert.deepEqual(kept.slice(2), [0, 0, 0]);
  });
});
