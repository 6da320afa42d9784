/**
 * One load run with autocannon (in this process): POSTs of a notification body, a fresh `event_id` per request,
 * either closed loop (each connection sends its next request when the previous one is answered) or open loop at a
 * fixed rate (see pacer.ts). Latencies are recorded per response with sub-millisecond precision (autocannon's own
 * histogram keeps whole milliseconds). An answer counts as good only if it is 200 with exactly the expected body.
 */
import autocannon from "autocannon";
import type { BodyFactory } from "./bodies.js";
import { Pacer } from "./pacer.js";
import { LatencyRecorder, round } from "./stats.js";

export const NOTIFY_PATH = "/_matrix/push/v1/notify";

export interface LoadOptions {
  /** Base URL, e.g. http://127.0.0.1:5000 */
  url: string;
  body: BodyFactory;
  /** The one good answer. */
  expectedBody: string;
  connections: number;
  durationS: number;
  /** Requests per second, evenly paced (open loop); closed loop when absent. */
  rate?: number;
  /** Seconds before autocannon calls a request timed out. */
  timeoutS?: number;
  /**
   * When given, nothing is counted until it resolves (a warm-up on the same connections); the run then goes on for
   * `durationS`.
   */
  countFrom?: Promise<void>;
  /** Called when the counted part of the run starts. */
  onCounting?: () => void;
}

export interface LoadResult {
  connections: number;
  rate: number | null;
  /** Of the counted part of the run. */
  durationS: number;
  /** Good answers (200 + expected body) per second. */
  reqPerS: number;
  responses: number;
  good: number;
  latencyMs: { p50: number; p99: number; p999: number; max: number };
  /** Answers by status code. */
  statuses: Record<string, number>;
  non2xx: number;
  /** 2xx answers whose body was not the expected one. */
  wrongBody: number;
  timeouts: number;
  /** Connections reset or broken by the server (ECONNRESET, EPIPE). */
  resets: number;
  otherErrors: number;
  /** Open loop only: requests that left more than 1 ms after their moment, and the worst lag. */
  lateSends?: number;
  maxLagMs?: number;
}

const UNTIL_STOPPED_S = 3600;

/** Shared by every run of this process, so that no two requests of a run of the benchmark share an event_id. */
let sequence = 0;

const running = new Set<autocannon.Instance>();

/** Stops every load run in progress (Ctrl-C). */
export function stopAllLoads(): void {
  for (const instance of running) instance.stop();
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const pacer = options.rate ? new Pacer(options.rate) : undefined;
  const latencies = new LatencyRecorder();
  const statuses: Record<string, number> = {};
  let good = 0;
  let wrongBody = 0;
  let resets = 0;
  let otherErrors = 0;
  let timeouts = 0;

  let counting = false;
  let countingSince = NaN;
  let countingUntil: number | undefined;
  let stopAfterCounting: NodeJS.Timeout | undefined;
  const startCounting = () => {
    counting = true;
    countingSince = performance.now();
    options.onCounting?.();
  };
  let instance!: autocannon.Instance;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url: `${options.url}${NOTIFY_PATH}`,
        method: "POST",
        headers: { "content-type": "application/json" },
        connections: options.connections,
        // With countFrom, the run is stopped durationS after counting starts.
        duration: options.countFrom ? UNTIL_STOPPED_S : options.durationS,
        timeout: options.timeoutS ?? 10,
        ...(pacer ? { setupClient: pacer.setupClient } : {}),
        requests: [
          {
            setupRequest: (request) => ({ ...request, body: options.body(sequence++) }),
            onResponse: (status, body) => {
              if (!counting) return;
              statuses[status] = (statuses[status] ?? 0) + 1;
              if (status === 200 && body === options.expectedBody) good++;
              else if (status >= 200 && status < 300) wrongBody++;
            },
          },
        ],
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
  if (options.countFrom) {
    void options.countFrom.then(() => {
      startCounting();
      stopAfterCounting = setTimeout(() => {
        // autocannon ends a stopped run at its next tick, up to a second later: what comes meanwhile is not counted.
        counting = false;
        countingUntil = performance.now();
        instance.stop();
      }, options.durationS * 1000);
    });
  } else {
    startCounting();
  }
  running.add(instance);
  void finished.finally(() => running.delete(instance)).catch(() => {});
  instance.on("response", (client, _status, _bytes, responseTime) => {
    if (!counting) return;
    latencies.record(responseTime + (pacer?.lagOf(client) ?? 0));
  });
  instance.on("reqError", (error: { code?: string; message?: string }) => {
    if (!counting) return;
    if (error.message === "request timed out") timeouts++;
    else if (error.code === "ECONNRESET" || error.code === "EPIPE") resets++;
    else otherErrors++;
  });
  await finished;
  clearTimeout(stopAfterCounting);
  const durationS = ((countingUntil ?? performance.now()) - countingSince) / 1000;

  const [p50, p99, p999, max] = latencies.percentiles([50, 99, 99.9, 100]);
  const responses = Object.values(statuses).reduce((a, b) => a + b, 0);
  const non2xx = Object.entries(statuses)
    .filter(([status]) => Number(status) < 200 || Number(status) > 299)
    .reduce((sum, [, count]) => sum + count, 0);
  return {
    connections: options.connections,
    rate: options.rate ?? null,
    durationS: round(durationS),
    reqPerS: round(good / durationS, 1),
    responses,
    good,
    latencyMs: { p50: round(p50!, 3), p99: round(p99!, 3), p999: round(p999!, 3), max: round(max!, 3) },
    statuses,
    non2xx,
    wrongBody,
    timeouts,
    resets,
    otherErrors,
    ...(pacer ? { lateSends: pacer.lateSends, maxLagMs: round(pacer.maxLagMs, 1) } : {}),
  };
}
