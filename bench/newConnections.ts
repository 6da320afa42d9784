/**
 * A homeserver's new connections: one /notify on a fresh connection every `everyMs`, timed from before the connect to
 * the end of the answer. The closed-loop load keeps its connections open for the whole run, so it never sees what a
 * homeserver meets when it connects again (after Herald's keep-alive timeout, say): the listen queue.
 */
import { request } from "node:http";
import type { BodyFactory } from "./bodies.js";
import { NOTIFY_PATH } from "./load.js";
import { LatencyRecorder, round } from "./stats.js";

/** As the load generator's: a request not answered by then is a timeout, an error. */
const TIMEOUT_MS = 10_000;

export interface NewConnectionsResult {
  requests: number;
  /** Connect, request and answer, in ms. */
  latencyMs: { p50: number; max: number };
  /** Answers other than 200 with the expected body, failed connections and timeouts. */
  errors: number;
}

export class NewConnectionProbe {
  private readonly latencies = new LatencyRecorder();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly timer: NodeJS.Timeout;
  private sent = 0;
  private errors = 0;

  constructor(
    private readonly url: string,
    private readonly body: BodyFactory,
    private readonly expectedBody: string,
    everyMs: number,
  ) {
    this.timer = setInterval(() => this.probe(), everyMs);
  }

  private probe(): void {
    const done = this.once().finally(() => this.inFlight.delete(done));
    this.inFlight.add(done);
  }

  private async once(): Promise<void> {
    const body = this.body(this.sent++);
    const started = performance.now();
    const answer = await new Promise<{ status?: number; text?: string }>((resolve) => {
      const req = request(
        `${this.url}${NOTIFY_PATH}`,
        {
          method: "POST",
          agent: false,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
          res.once("end", () => resolve({ status: res.statusCode, text }));
          res.once("error", () => resolve({}));
        },
      );
      const deadline = setTimeout(() => req.destroy(), TIMEOUT_MS);
      req.once("close", () => clearTimeout(deadline));
      req.once("error", () => resolve({}));
      req.end(body);
    });
    this.latencies.record(performance.now() - started);
    if (answer.status !== 200 || answer.text !== this.expectedBody) this.errors++;
  }

  /** Stops probing; resolves once the probes in flight are answered. */
  async stop(): Promise<NewConnectionsResult> {
    clearInterval(this.timer);
    await Promise.all(this.inFlight);
    const [p50, max] = this.latencies.percentiles([50, 100]);
    return {
      requests: this.latencies.count,
      latencyMs: { p50: round(p50!, 1), max: round(max!, 1) },
      errors: this.errors,
    };
  }
}
