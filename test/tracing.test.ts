/**
 * Tracing end to end: a Herald pushing to the sandbox APNs exports its spans by OTLP/HTTP to a local collector on a
 * real socket. A /notify that carries Synapse's trace context (W3C `traceparent`, or Jaeger's `uber-trace-id`)
 * continues that trace: the request's server span under the caller's span, a span per device under it, a span per
 * provider request under its device's. No attribute carries a pushkey. With tracing off, nothing is sent.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { shortPushkey } from "../src/observability/logger.js";
import { OtlpCollector, type CollectedSpan } from "../src/sandbox/otlpCollector.js";
import { startTestHerald, testApp, type TestHerald } from "./helpers/herald.js";
import { spawnHerald } from "./helpers/processes.js";
import { tempDir } from "./helpers/tempDir.js";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { writeYaml } from "../src/config/yaml.js";
import { waitFor, within } from "./helpers/waitFor.js";
import { deviceToken, KEY_ID, startApnsFixture, TEAM_ID, TOPIC, type ApnsFixture } from "./apns/apnsFixture.js";

const APP = "com.example.apns";
const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;
const COLLECTOR_KEY = "collector-api-key-7f3e";

function notifyWith(herald: TestHerald, headers: Record<string, string>, pushkeys: [string, string][]) {
  return fetch(`${herald.url}/_matrix/push/v1/notify`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({
      notification: {
        event_id: `$event-${Math.random()}`,
        room_id: "!room:example.org",
        content: { body: "a secret message", msgtype: "m.text" },
        devices: pushkeys.map(([app_id, pushkey]) => ({ app_id, pushkey })),
      },
    }),
  });
}

/** The spans of a trace, once the request's server span and `count` spans in all have arrived. */
async function traceOf(herald: TestHerald, collector: OtlpCollector, traceId: string, count: number) {
  await herald.herald.tracing!.flush();
  return waitFor(`${count} spans of trace ${traceId}`, () => {
    const spans = collector.spans.filter((span) => span.traceId === traceId);
    return spans.length >= count && spans;
  });
}

function only(spans: CollectedSpan[], where: (span: CollectedSpan) => boolean, what: string): CollectedSpan {
  const found = spans.filter(where);
  assert.equal(found.length, 1, `one ${what}: ${JSON.stringify(spans, null, 1)}`);
  return found[0]!;
}

/** Every attribute value of the spans and their resource, as text. */
function attributeTexts(spans: CollectedSpan[]): string[] {
  return spans.flatMap((span) =>
    [...Object.values(span.attributes), ...Object.values(span.resource), span.status.message ?? ""].map((value) =>
      JSON.stringify(value),
    ),
  );
}

function assertNoPushkey(spans: CollectedSpan[], pushkeys: string[]): void {
  for (const text of attributeTexts(spans)) {
    for (const secret of [...pushkeys, ...pushkeys.map(shortPushkey), "a secret message", COLLECTOR_KEY]) {
      assert.ok(!text.includes(secret), `an attribute holds ${secret}: ${text}`);
    }
  }
}

/** The sandbox APNs, a collector that keeps what it is sent, and a Herald on the config `configOf` makes of them. */
interface Traced {
  apns: ApnsFixture;
  collector: OtlpCollector;
  herald: TestHerald;
  /** Herald first, so that the spans its shutdown exports reach the collector. */
  stop(): Promise<void>;
}

async function startTraced(
  configOf: (collector: OtlpCollector, apns: ApnsFixture) => Record<string, unknown>,
): Promise<Traced> {
  const apns = await startApnsFixture();
  const collector = await OtlpCollector.start();
  const herald = await startTestHerald(configOf(collector, apns));
  return {
    apns,
    collector,
    herald,
    stop: async () => {
      await herald.stop();
      await collector.close();
      await apns.close();
    },
  };
}

describe("tracing with OpenTelemetry", () => {
  let apns: ApnsFixture;
  let collector: OtlpCollector;
  let herald: TestHerald;
  let traced: Traced;

  before(async () => {
    traced = await startTraced((collector, apns) => ({
      request_deadline: 5,
      metrics: {
        opentelemetry: {
          enabled: true,
          endpoint: collector.url,
          service_name: "herald-under-test",
          headers: { "x-api-key": COLLECTOR_KEY },
        },
      },
      apps: { [APP]: apns.tokenApp() },
      push_relay: {
        apns: {
          keyfile: apns.files.key,
          key_id: KEY_ID,
          team_id: TEAM_ID,
          production_endpoint: apns.sandbox.url,
          sandbox_endpoint: apns.sandbox.url,
          ca: apns.files.ca,
        },
      },
    }));
    ({ apns, collector, herald } = traced);
  });
  after(() => traced.stop());

  test("a /notify with a traceparent continues the caller's trace: request, devices, provider requests", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const callerSpan = "00f067aa0ba902b7";
    const delivered = deviceToken(1);
    const unknown = deviceToken(2);
    const dead = deviceToken(3);
    apns.sandbox.script(dead.hex, { status: 410, reason: "Unregistered" });
    const res = await notifyWith(herald, { traceparent: `00-${traceId}-${callerSpan}-01` }, [
      [APP, delivered.pushkey],
      ["com.example.unknown", unknown.pushkey],
      [APP, dead.pushkey],
    ]);
    assert.equal(res.status, 200);
    const requestId = res.headers.get("x-request-id");

    const spans = await traceOf(herald, collector, traceId, 6);
    const server = only(spans, (s) => s.kind === SERVER, "server span");
    assert.equal(server.name, "POST /_matrix/push/v1/notify");
    assert.equal(server.parentSpanId, callerSpan);
    assert.deepEqual(server.attributes, {
      "http.request.method": "POST",
      "http.route": "/_matrix/push/v1/notify",
      "http.response.status_code": 200,
      "herald.request_id": requestId,
    });
    assert.equal(server.resource["service.name"], "herald-under-test");

    const devices = spans.filter((s) => s.name === "dispatch device");
    assert.equal(devices.length, 3);
    for (const device of devices) assert.equal(device.parentSpanId, server.spanId);
    const sent = only(devices, (s) => s.attributes["herald.outcome"] === "delivered", "delivered device");
    assert.deepEqual(sent.attributes, {
      "herald.app_id": APP,
      "herald.pushkin": APP,
      "herald.pushkin.type": "apns",
      "herald.outcome": "delivered",
      "herald.answered_by": "provider",
    });
    const unroutable = only(devices, (s) => s.attributes["herald.app_id"] === "com.example.unknown", "unknown app");
    assert.deepEqual(unroutable.attributes, {
      "herald.app_id": "com.example.unknown",
      "herald.outcome": "rejected",
      "herald.answered_by": "routing",
    });
    const rejected = only(
      devices,
      (s) => s.attributes["herald.outcome"] === "rejected" && s.attributes["herald.answered_by"] === "provider",
      "device the provider rejected",
    );

    const requests = spans.filter((s) => s.name === "provider request");
    assert.equal(requests.length, 2);
    const ok = only(requests, (s) => s.parentSpanId === sent.spanId, "provider request of the delivered device");
    assert.equal(ok.kind, CLIENT);
    assert.deepEqual(ok.attributes, {
      "herald.attempt": 1,
      "http.response.status_code": 200,
      "herald.provider.verdict": "delivered",
      "herald.retry": false,
    });
    const gone = only(requests, (s) => s.parentSpanId === rejected.spanId, "provider request of the dead token");
    assert.deepEqual(gone.attributes, {
      "herald.attempt": 1,
      "http.response.status_code": 410,
      "herald.provider.verdict": "rejected",
      "herald.provider.reason": "Unregistered",
      "herald.retry": false,
    });
    assertNoPushkey(
      spans,
      [delivered, unknown, dead].flatMap((t) => [t.pushkey, t.hex]),
    );
    for (const headers of collector.exports) {
      assert.equal(headers["content-type"], "application/json");
      assert.equal(headers["x-api-key"], COLLECTOR_KEY, "metrics.opentelemetry.headers go with every export");
    }
  });

  test("an uber-trace-id (Jaeger, 64-bit trace id) continues Synapse's trace; retries and failures are spans", async () => {
    const jaegerTrace = "a3ce929d0e0e4736";
    const callerSpan = "1f0e2d3c4b5a6978";
    const flaky = deviceToken(4);
    const broken = deviceToken(5);
    apns.sandbox.script(flaky.hex, { status: 503, reason: "ServiceUnavailable", retryAfter: 0 }, { status: 200 });
    apns.sandbox.script(broken.hex, { status: 400, reason: "BadTopic" });
    const res = await notifyWith(herald, { "uber-trace-id": `${jaegerTrace}:${callerSpan}:0:1` }, [
      [APP, flaky.pushkey],
      [APP, broken.pushkey],
    ]);
    assert.equal(res.status, 502);

    const traceId = jaegerTrace.padStart(32, "0");
    const spans = await traceOf(herald, collector, traceId, 6);
    const server = only(spans, (s) => s.kind === SERVER, "server span");
    assert.equal(server.parentSpanId, callerSpan);
    assert.equal(server.attributes["http.response.status_code"], 502);
    assert.equal(server.status.code, ERROR);

    const devices = spans.filter((s) => s.name === "dispatch device" && s.parentSpanId === server.spanId);
    const retried = only(devices, (s) => s.attributes["herald.outcome"] === "delivered", "retried device");
    const failed = only(devices, (s) => s.attributes["herald.outcome"] === "failed", "failed device");
    assert.equal(failed.attributes["error.type"], "PermanentFailure");
    assert.equal(failed.status.code, ERROR);

    const attempts = spans
      .filter((s) => s.name === "provider request" && s.parentSpanId === retried.spanId)
      .sort((a, b) => Number(a.attributes["herald.attempt"]) - Number(b.attributes["herald.attempt"]));
    assert.deepEqual(
      attempts.map((s) => s.attributes),
      [
        {
          "herald.attempt": 1,
          "http.response.status_code": 503,
          "herald.provider.verdict": "retry",
          "herald.provider.reason": "ServiceUnavailable",
          "herald.retry": true,
          "error.type": "TemporaryFailure",
        },
        {
          "herald.attempt": 2,
          "http.response.status_code": 200,
          "herald.provider.verdict": "delivered",
          "herald.retry": false,
        },
      ],
    );
    const refused = only(spans, (s) => s.parentSpanId === failed.spanId, "provider request of the refused push");
    assert.equal(refused.attributes["herald.retry"], false);
    assert.equal(refused.attributes["error.type"], "PermanentFailure");
    assert.equal(refused.attributes["herald.provider.reason"], "BadTopic");
    assertNoPushkey(
      spans,
      [flaky, broken].flatMap((t) => [t.pushkey, t.hex]),
    );
  });

  test("a 128-bit Jaeger trace id is continued as it is", async () => {
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const res = await notifyWith(herald, { "uber-trace-id": `${traceId}:b7ad6b7169203331:0:1` }, [
      [APP, deviceToken(6).pushkey],
    ]);
    assert.equal(res.status, 200);
    const spans = await traceOf(herald, collector, traceId, 3);
    assert.equal(only(spans, (s) => s.kind === SERVER, "server span").parentSpanId, "b7ad6b7169203331");
  });

  test("a /push (push-relay) has its server span, with its provider request under it", async () => {
    const traceId = "5bf92f3577b34da6a3ce929d0e0e4737";
    const { hex } = deviceToken(10);
    const res = await fetch(`${herald.url}/push`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        traceparent: `00-${traceId}-00f067aa0ba902b8-01`,
      },
      body: new URLSearchParams({
        type: "apns",
        token: hex,
        session: "s",
        version: "3",
        bundleid: TOPIC,
        endpoint: "p",
      }),
    });
    assert.equal(res.status, 204);
    const spans = await traceOf(herald, collector, traceId, 2);
    const server = only(spans, (s) => s.kind === SERVER, "server span");
    assert.equal(server.name, "POST /push");
    assert.equal(server.attributes["http.route"], "/push");
    assert.equal(server.attributes["http.response.status_code"], 204);
    const request = only(spans, (s) => s.name === "provider request", "provider request");
    assert.equal(request.parentSpanId, server.spanId);
    assert.equal(request.attributes["http.response.status_code"], 200);
    assertNoPushkey(spans, [hex]);
  });
});

describe("tracing from Sygnal's metrics.opentracing", () => {
  let collector: OtlpCollector;
  let herald: TestHerald;
  let traced: Traced;

  before(async () => {
    traced = await startTraced((collector, apns) => ({
      metrics: {
        opentelemetry: { endpoint: collector.url },
        opentracing: {
          enabled: true,
          implementation: "jaeger",
          service_name: "sygnal-compat",
          jaeger: { sampler: { type: "const", param: 0 } },
        },
      },
      apps: { [APP]: apns.tokenApp() },
    }));
    ({ collector, herald } = traced);
  });
  after(() => traced.stop());

  test("its service name is used; sampler const 0 keeps no trace Herald starts, and Synapse's sampled ones", async () => {
    const unsampled = await herald.notify({
      notification: { devices: [{ app_id: APP, pushkey: deviceToken(7).pushkey }] },
    });
    assert.equal(unsampled.status, 200);
    const traceId = "00000000000000000000000000c0ffee";
    const res = await notifyWith(herald, { "uber-trace-id": "c0ffee:00000000000000aa:0:1" }, [
      [APP, deviceToken(8).pushkey],
    ]);
    assert.equal(res.status, 200);
    const spans = await traceOf(herald, collector, traceId, 3);
    assert.equal(spans[0]!.resource["service.name"], "sygnal-compat");
    assert.deepEqual(
      collector.spans.filter((s) => s.traceId !== traceId),
      [],
      "the trace Herald started is not sampled",
    );
  });
});

describe("tracing at shutdown", () => {
  test("the spans still buffered are exported by the shutdown, without a flush", async () => {
    const apns = await startApnsFixture();
    const collector = await OtlpCollector.start();
    // The SDK's batch delay (the standard variable, read when Herald starts): no batch goes before the shutdown.
    process.env.OTEL_BSP_SCHEDULE_DELAY = "600000";
    const herald = await startTestHerald({
      metrics: { opentelemetry: { enabled: true, endpoint: collector.url } },
      apps: { [APP]: apns.tokenApp() },
    }).finally(() => delete process.env.OTEL_BSP_SCHEDULE_DELAY);
    try {
      const res = await notifyWith(herald, {}, [[APP, deviceToken(11).pushkey]]);
      assert.equal(res.status, 200);
      assert.equal(collector.spans.length, 0);
    } finally {
      await herald.stop();
      await collector.close();
      await apns.close();
    }
    assert.deepEqual(collector.spans.map((s) => s.name).sort(), [
      "POST /_matrix/push/v1/notify",
      "dispatch device",
      "provider request",
    ]);
  });

  test("a collector that never answers does not hold the shutdown past its bound", async () => {
    const apns = await startApnsFixture();
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/v1/traces`;
    const herald = await startTestHerald({
      shutdown_timeout: 0,
      metrics: { opentelemetry: { enabled: true, endpoint } },
      apps: { [APP]: apns.tokenApp() },
    });
    try {
      assert.equal((await notifyWith(herald, {}, [[APP, deviceToken(12).pushkey]])).status, 200);
      // The close grace is 2.5 s, and an export gives up after 2 s.
      await within("the shutdown", herald.stop(), 6000);
      assert.ok(herald.logs.some((line) => line.msg === "Shut down"));
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
      await apns.close();
    }
  });
});

describe("tracing off (the default)", () => {
  test("sends nothing, whatever trace context the request carries", async () => {
    const traced = await startTraced((collector, apns) => ({
      // Where spans would go, were tracing on.
      metrics: { opentelemetry: { endpoint: collector.url } },
      apps: { [APP]: apns.tokenApp() },
    }));
    const { apns, collector, herald } = traced;
    try {
      assert.equal(herald.herald.tracing, undefined);
      const res = await notifyWith(herald, { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" }, [
        [APP, deviceToken(9).pushkey],
      ]);
      assert.equal(res.status, 200);
      await waitFor("the push", () => apns.sandbox.received.length === 1);
    } finally {
      // A Herald that traced would export its last spans here.
      await traced.stop();
    }
    assert.deepEqual(collector.exports, []);
  });
});

describe("the OpenTelemetry SDK", () => {
  /**
   * The `@opentelemetry/*` packages a `herald serve` imports until it listens, seen by a module hook. The hook writes
   * them to a file, synchronously: on Node 22 and later hooks run on a thread of their own, whose writes to stderr may
   * not have arrived when the process is killed.
   */
  async function importedBy(t: { after(fn: () => unknown): unknown }, enabled: boolean): Promise<Set<string>> {
    const dir = tempDir(t);
    const imports = join(dir, "imports.txt");
    writeFileSync(imports, "");
    writeFileSync(
      join(dir, "hooks.mjs"),
      `import { appendFileSync } from "node:fs";
      export async function resolve(specifier, context, next) {
        if (specifier.startsWith("@opentelemetry/")) appendFileSync(${JSON.stringify(imports)}, specifier + "\\n");
        return next(specifier, context);
      }`,
    );
    writeFileSync(
      join(dir, "register.mjs"),
      `import { register } from "node:module"; register(${JSON.stringify(pathToFileURL(join(dir, "hooks.mjs")).href)});`,
    );
    const config = join(dir, "sygnal.yaml");
    writeFileSync(
      config,
      writeYaml({
        http: { bind_addresses: ["127.0.0.1"], port: 0 },
        metrics: { opentelemetry: { enabled } },
        apps: { "com.example.app": testApp() },
      }),
    );
    const herald = spawnHerald(t, ["serve", "--config", config], {
      NODE_OPTIONS: `--import ${pathToFileURL(join(dir, "register.mjs")).href}`,
    });
    await herald.waitForOutput(/Listening for push requests/, "that it listens");
    await herald.kill();
    return new Set(readFileSync(imports, "utf8").split("\n").filter(Boolean));
  }

  test("is not even loaded when tracing is off; it is when on", async (t) => {
    const sdk = ["@opentelemetry/sdk-trace-base", "@opentelemetry/exporter-trace-otlp-http", "@opentelemetry/core"];
    const off = await importedBy(t, false);
    for (const name of sdk) assert.ok(!off.has(name), `${name} is loaded with tracing off: ${[...off].join(", ")}`);
    const on = await importedBy(t, true);
    for (const name of sdk) assert.ok(on.has(name), `${name} is loaded with tracing on: ${[...on].join(", ")}`);
  });
});
