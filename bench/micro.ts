/**
 * Micro-benchmarks (tinybench) of the CPU-heavy pure steps, on the compiled modules in dist/src:
 *   - APNs truncation of a payload whose message body is 512 KiB of mixed ASCII and emoji,
 *   - building and encoding the APNs payload of the `full` notification,
 *   - parsing and validating a typical one-device /notify body,
 *   - the dispatch memory's recall of a one-device request (its token, its delivery): a worker's own (`LocalMemory`),
 *     and with `http.workers` a round trip through the primary (`ClusterMemory`; the primary is a child process here,
 *     on the same kind of IPC channel as node:cluster's), one at a time and 64 at once (as under load).
 *   - the spans of a one-device /notify (its server span, the device's, one provider request's) with the
 *     OpenTelemetry API's no-op tracer, and with the SDK at sampling ratio 0 and 1. At ratio 1 this is the cost of
 *     recording them: at this pace the batch queue is full and most are dropped unexported (the load scenario
 *     `tracing` measures the export too). With tracing off Herald makes none of them: its hooks hold `undefined`.
 * Run by run.ts before the load scenarios; also runnable alone: `node dist/bench/micro.js [--quick]`.
 */
import { fork } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ROOT_CONTEXT, trace, type Tracer } from "@opentelemetry/api";
import { pino } from "pino";
import { Bench } from "tinybench";
import { parseNotificationBody } from "../src/api/notificationBody.js";
import { ClusterMemory } from "../src/core/clusterMemory.js";
import { LocalMemory } from "../src/core/dispatchMemory.js";
import type { Notification } from "../src/core/notification.js";
import { buildApnsPayload } from "../src/pushkins/apns/payload.js";
import { encodeApnsPayload } from "../src/pushkins/apns/truncate.js";
import { AttemptSpan, DeviceSpan, endRequestSpan, startRequestSpan } from "../src/observability/spans.js";
import type { Tracing } from "../src/observability/tracing.js";
import { createTracing } from "../src/observability/tracingSdk.js";
import { OtlpCollector } from "../src/sandbox/otlpCollector.js";
import { APP_ID, notificationBody, randomPushkeys, SAMPLE_EVENT } from "./bodies.js";
import { round } from "./stats.js";

export interface MicroResult {
  name: string;
  meanMs: number;
  p99Ms: number;
  opsPerS: number;
  samples: number;
}

const LARGE_BODY_BYTES = 512 * 1024;

/** Herald's defaults for duplicate suppression and the dead-token cache. */
export const MEMORY_CONFIG = {
  dead_token_cache: { enabled: true, max_entries: 100_000, ttl: 3600 },
  duplicate_suppression: { enabled: true, max_entries: 100_000, ttl: 600 },
};
/** Recalls in flight at once in the "64 at once" rows, as under the closed-loop load's 64 connections. */
const CONCURRENT_RECALLS = 64;

/** The `full` fixture's notification, for one device. */
function fullNotification(body: string): Notification {
  return {
    ...SAMPLE_EVENT,
    event_id: "$qTOWWTEL48yPm3uT-gdNhFcoHxfKbZuqRVnnWWSkGBs",
    content: { ...SAMPLE_EVENT.content, body },
    counts: { ...SAMPLE_EVENT.counts },
    devices: [{ app_id: APP_ID, pushkey: randomPushkeys(1)[0]! }],
  };
}

/** What Herald's hooks make for a one-device /notify delivered at the first attempt. */
function oneRequestSpans(tracer: Tracer): void {
  const request = { method: "POST", route: "/_matrix/push/v1/notify", requestId: "a7d5c3e1-micro" };
  const { span, trace: parent } = startRequestSpan(tracer, ROOT_CONTEXT, request);
  const device = DeviceSpan.start(parent, APP_ID, { name: APP_ID, type: "apns" });
  const attempt = AttemptSpan.start(device.trace, 1);
  attempt.answered(200, "delivered", undefined);
  attempt.succeeded();
  device.end("delivered", undefined);
  endRequestSpan(span, 200);
}

function sdkTracing(endpoint: string, ratio: number): Tracing {
  return createTracing(
    {
      source: "metrics.opentelemetry",
      endpoint,
      headers: {},
      serviceName: "herald-micro",
      sampler: { kind: "ratio", ratio },
      jaegerHeader: "uber-trace-id",
      resourceAttributes: {},
    },
    pino({ level: "silent" }),
  );
}

/** About `bytes` UTF-8 bytes of text mixing ASCII words and emoji (4-byte code points, surrogate pairs in JS). */
function mixedText(bytes: number): string {
  const unit = "Ground control to Major Tom 🚀 commencing countdown 🛰️ engines on 👩‍🚀 ";
  return unit.repeat(Math.ceil(bytes / Buffer.byteLength(unit))).slice(0, bytes);
}

export async function runMicro(options: { timeMs: number }): Promise<MicroResult[]> {
  const options_ = { sendBadgeCounts: true };
  const large = fullNotification(mixedText(LARGE_BODY_BYTES));
  const largePayload = buildApnsPayload(large, large.devices[0]!, options_)!;
  const full = fullNotification("I'm floating in a most peculiar way.");
  const body = Buffer.from(notificationBody(APP_ID, randomPushkeys(1), "micro")(1));
  if (!parseNotificationBody(body).ok) throw new Error("the micro-benchmark's body does not validate");
  if (Buffer.byteLength(encodeApnsPayload(largePayload)) > 4096) throw new Error("truncation did not truncate");

  const pushkey = randomPushkeys(1)[0]!;
  const tokenKeys = [`${APP_ID}\u0000${pushkey}`];
  const deliveryKeys = [`${full.event_id}\u0000${APP_ID}\u0000${pushkey}`];
  const local = new LocalMemory(MEMORY_CONFIG);
  const primary = fork(fileURLToPath(new URL("./memoryPrimary.js", import.meta.url)));
  await once(primary, "message");
  // Nothing learned: every recall asks the primary, none is answered by the worker's own mirror.
  const shared = new ClusterMemory(MEMORY_CONFIG, primary, 60_000);
  const recallMany = (memory: LocalMemory | ClusterMemory) =>
    Promise.all(Array.from({ length: CONCURRENT_RECALLS }, () => memory.recall(tokenKeys, deliveryKeys)));
  const collector = await OtlpCollector.start({ decode: false });
  const unsampled = sdkTracing(collector.url, 0);
  const sampled = sdkTracing(collector.url, 1);
  // No global tracer provider is registered: the API's tracer is its no-op one.
  const noop = trace.getTracer("herald-micro");

  const bench = new Bench({ time: options.timeMs, warmupTime: Math.min(500, options.timeMs / 2) });
  bench
    .add("apns truncate 512 KiB body", () => {
      encodeApnsPayload(largePayload);
    })
    .add("apns payload, full fixture", () => {
      encodeApnsPayload(buildApnsPayload(full, full.devices[0]!, options_)!);
    })
    .add("parse + validate 1-device body", () => {
      parseNotificationBody(body);
    })
    .add(MEMORY_ROWS.local, () => local.recall(tokenKeys, deliveryKeys))
    .add(MEMORY_ROWS.primary, () => shared.recall(tokenKeys, deliveryKeys))
    .add(MEMORY_ROWS.localMany, () => recallMany(local))
    .add(MEMORY_ROWS.primaryMany, () => recallMany(shared))
    .add("spans of a request: API no-op", () => oneRequestSpans(noop))
    .add("spans of a request: SDK ratio 0", () => oneRequestSpans(unsampled.tracer))
    .add("spans of a request: SDK ratio 1", () => oneRequestSpans(sampled.tracer));
  try {
    await bench.run();
  } finally {
    await shared.close();
    primary.kill();
    await Promise.all([unsampled.shutdown(), sampled.shutdown()]);
    await collector.close();
  }
  return bench.tasks.map((task) => {
    const result = task.result;
    if (!("latency" in result)) throw new Error(`micro-benchmark '${task.name}' failed: ${result.state}`);
    return {
      name: task.name,
      meanMs: round(result.latency.mean, 4),
      p99Ms: round(result.latency.p99, 4),
      opsPerS: round(result.throughput.mean, 0),
      samples: result.latency.samplesCount,
    };
  });
}

const MEMORY_ROWS = {
  local: "memory recall, worker's own",
  primary: "memory recall, via the primary",
  localMany: `${CONCURRENT_RECALLS} recalls at once, own`,
  primaryMany: `${CONCURRENT_RECALLS} recalls at once, primary`,
};

export function formatMicro(results: MicroResult[]): string {
  const mean = (name: string) => results.find((r) => r.name === name)?.meanMs;
  const ratio = (through: string, own: string) => {
    const [a, b] = [mean(through), mean(own)];
    return a && b ? `${(a / b).toFixed(0)}×` : "-";
  };
  const lines = results.map(
    (r) =>
      `  ${r.name.padEnd(32)} mean ${r.meanMs.toFixed(4).padStart(9)} ms   p99 ${r.p99Ms.toFixed(4).padStart(9)} ms   ${r.opsPerS.toLocaleString("en").padStart(10)} ops/s`,
  );
  const memory = mean(MEMORY_ROWS.primary)
    ? [
        `  a recall via the primary costs ${ratio(MEMORY_ROWS.primary, MEMORY_ROWS.local)} the worker's own one at a time,` +
          ` ${ratio(MEMORY_ROWS.primaryMany, MEMORY_ROWS.localMany)} ${CONCURRENT_RECALLS} at once`,
      ]
    : [];
  return ["Micro-benchmarks:", ...lines, ...memory].join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes("--quick");
  console.log(formatMicro(await runMicro({ timeMs: quick ? 300 : 1000 })));
}
