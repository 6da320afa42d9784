/**
 * `npm run soak`: Herald under a long, steady load with providers that misbehave now and then, to show that memory
 * stays flat and that no error comes out but those the faults explain.
 *
 * 1. Herald (one process, defaults, log level info) with four apps on the sandbox providers (APNs, FCM, WebPush,
 *    HMS); each request is one notification to one device of each.
 * 2. Its maximum: a closed-loop run without faults.
 * 3. The soak: open loop at `--fraction` (default 0.7) of that maximum for `--minutes` (default 10), with a fault mix
 *    on every provider (latency, 5xx, resets, rare hangs), Herald's RSS sampled every 5 s.
 *
 * Answers are sorted into good (200 `{"rejected": []}`), explained (502: a device whose provider hung past the
 * deadline, or failed every try) and unexplained (anything else: other statuses, 503 load shedding, timeouts,
 * resets, wrong bodies). Writes bench/results/soak-<timestamp>.json and prints a summary.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { FaultMix } from "../src/sandbox/apns.js";
import {
  APP_ID,
  FCM_APP_ID,
  HMS_APP_ID,
  notificationBodyOf,
  randomFcmTokens,
  randomHmsTokens,
  randomPushkeys,
  WEBPUSH_APP_ID,
} from "./bodies.js";
import { fcmAppConfig, hmsAppConfig, oneAppConfig, webPushAppConfig } from "./heraldConfig.js";
import { measure } from "./measure.js";
import { killAllNow, SandboxProcess, startHerald, stopAll } from "./processes.js";
import { machine, RESULTS_DIR } from "./report.js";
import type { Provider } from "./sandboxProcess.js";
import { leastSquaresSlope, round } from "./stats.js";

const RSS_INTERVAL_S = 5;
const HERALD_OK = '{"rejected": []}';
const MAX_RUN_S = 15;
const CONNECTIONS = 64;

/** Each provider now and then slow, failing, resetting, or not answering at all (then the deadline answers 502). */
const FAULTS: Record<Provider, FaultMix> = {
  apns: { latencyMs: [1, 30], errorRate: 0.01, resetRate: 0.005, hangRate: 0.0002 },
  fcm: { latencyMs: [1, 30], errorRate: 0.01, resetRate: 0.005, hangRate: 0.0002 },
  webpush: { latencyMs: [1, 30], errorRate: 0.01 },
  hms: { latencyMs: [1, 30], errorRate: 0.01, hangRate: 0.0002 },
};

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { minutes: { type: "string", default: "10" }, fraction: { type: "string", default: "0.7" } },
  });
  const minutes = Number(values.minutes);
  const fraction = Number(values.fraction);
  if (!(minutes > 0) || !(fraction > 0 && fraction <= 1)) {
    console.error("usage: npm run soak -- [--minutes M (default 10)] [--fraction F of the maximum (default 0.7)]");
    return 2;
  }
  const started = performance.now();
  const log = (message: string) =>
    console.log(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}`);
  const dir = mkdtempSync(join(tmpdir(), "herald-soak-"));
  try {
    log("starting the sandbox providers");
    const sandbox = await SandboxProcess.start(1);
    const info = sandbox.sandboxes[0]!;
    const config = {
      ...oneAppConfig(info),
      apps: {
        ...(oneAppConfig(info).apps as object),
        ...(fcmAppConfig(info).apps as object),
        ...(webPushAppConfig(info).apps as object),
        ...(hmsAppConfig(info).apps as object),
      },
    };
    const runId = Date.now().toString(36);
    const { endpoint, p256dh, auth } = info.webpush.subscription;
    const body = notificationBodyOf(
      [
        { app_id: APP_ID, pushkey: randomPushkeys(1)[0]! },
        { app_id: FCM_APP_ID, pushkey: randomFcmTokens(1)[0]! },
        { app_id: WEBPUSH_APP_ID, pushkey: p256dh, data: { endpoint, auth } },
        { app_id: HMS_APP_ID, pushkey: randomHmsTokens(1)[0]! },
      ],
      runId,
    );
    const herald = await startHerald(config, join(dir, "soak.yaml"));

    log(`the maximum: closed loop, ${CONNECTIONS} connections, ${MAX_RUN_S} s, no faults`);
    const max = await measure(
      { serverPid: herald.pid, sandbox, warmupS: 3 },
      { url: herald.url, body, expectedBody: HERALD_OK, connections: CONNECTIONS, durationS: MAX_RUN_S },
    );
    const rate = Math.max(1, Math.floor(max.load.reqPerS * fraction));
    log(`maximum ${max.load.reqPerS} req/s; soaking at ${rate} req/s (${fraction}) for ${minutes} min with faults`);

    for (const [provider, faults] of Object.entries(FAULTS)) await sandbox.setFaults(0, faults, provider as Provider);
    const soak = await measure(
      { serverPid: herald.pid, sandbox, warmupS: 0, rssSeriesIntervalMs: RSS_INTERVAL_S * 1000 },
      {
        url: herald.url,
        body,
        expectedBody: HERALD_OK,
        connections: CONNECTIONS * 4,
        durationS: minutes * 60,
        rate,
        timeoutS: 30,
      },
    );
    const providerStats = (await sandbox.stats())[0];

    const samples = soak.usage.rssSamples ?? [];
    const slope = (fromS: number) =>
      round(leastSquaresSlope(samples.filter((s) => s.atS >= fromS).map((s) => ({ x: s.atS / 60, y: s.rssMb }))), 2);
    const { statuses, good, responses } = soak.load;
    const explained = statuses["502"] ?? 0;
    const unexplained = responses - good - explained + soak.load.timeouts + soak.load.resets + soak.load.otherErrors;
    const result = {
      startedAt: new Date(Date.now() - (performance.now() - started)).toISOString(),
      machine: machine(),
      minutes,
      fraction,
      faults: FAULTS,
      maximum: { reqPerS: max.load.reqPerS, latencyMs: max.load.latencyMs, peakRssMb: max.usage.server.peakRssMb },
      soak: {
        rate,
        load: soak.load,
        usage: { ...soak.usage, rssSamples: undefined },
        providers: providerStats,
        rss: {
          startMb: samples[0]?.rssMb,
          peakMb: Math.max(...samples.map((s) => s.rssMb)),
          endMb: samples.at(-1)?.rssMb,
          slopeAfterFirstMinuteMbPerMin: slope(60),
          slopeSecondHalfMbPerMin: slope((minutes * 60) / 2),
          samples,
        },
        answers: { good, explained502: explained, unexplained },
      },
    };
    mkdirSync(RESULTS_DIR, { recursive: true });
    const file = join(RESULTS_DIR, `soak-${result.startedAt.replace(/[:.]/g, "-")}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);

    const { rss } = result.soak;
    console.log(`
maximum (closed loop, no faults): ${max.load.reqPerS} req/s, p99 ${max.load.latencyMs.p99} ms
soak: ${rate} req/s for ${minutes} min (answered ${round(responses / soak.load.durationS, 1)} req/s; ${soak.load.lateSends ?? 0} sends late, the worst by ${soak.load.maxLagMs ?? 0} ms)
      ${responses} answers: ${good} good, ${explained} 502 (faults), ${unexplained} unexplained
      latency p50 ${soak.load.latencyMs.p50} ms, p99 ${soak.load.latencyMs.p99} ms, max ${soak.load.latencyMs.max} ms
      statuses ${JSON.stringify(statuses)}, timeouts ${soak.load.timeouts}, resets ${soak.load.resets}, other errors ${soak.load.otherErrors}
RSS: start ${rss.startMb} MB, peak ${rss.peakMb} MB, end ${rss.endMb} MB; slope after the first minute ${rss.slopeAfterFirstMinuteMbPerMin} MB/min, second half ${rss.slopeSecondHalfMbPerMin} MB/min
CPU: Herald ${soak.usage.server.cpuPercent}% of a core, sandbox ${soak.usage.sandboxCpuPercent}%, load generator ${soak.usage.loadGeneratorCpuPercent}%, machine ${soak.usage.machineCpuPercent}%
written to ${file}`);
    return unexplained === 0 ? 0 : 1;
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

process.once("SIGINT", () => {
  killAllNow();
  process.exit(130);
});
process.exitCode = await main();
