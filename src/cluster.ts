/**
 * `http.workers` > 1: a primary process that forks the workers, which share the listening ports (node:cluster hands
 * connections to them in turn), and serves the workers' metrics, aggregated, on the Prometheus listener.
 *
 * The primary holds the workers' shared dispatch memory (duplicate suppression and the dead-token cache: see
 * core/clusterMemory.ts) and answers them from it, whatever its phase, until it exits. It restarts a worker that dies
 * while serving, fails start-up when a worker cannot start, and on SIGTERM/SIGINT passes SIGTERM on to every worker,
 * which drains, and waits for them (a second signal kills them at once).
 * Each worker keeps its own in-flight limits.
 */
import cluster, { type Worker } from "node:cluster";
import type { AddressInfo } from "node:net";
import { AggregatorRegistry, type Registry } from "prom-client";
import type { Logger } from "pino";
import type { HeraldConfig } from "./config/types.js";
import { createMetricsServer } from "./observability/metricsServer.js";
import { METRICS_LISTENER_KEYS } from "./config/listeners.js";
import { listen } from "./core/listen.js";
import { answerMemoryMessage, type MemoryMessage } from "./core/clusterMemory.js";
import { LocalMemory } from "./core/dispatchMemory.js";

/** What a worker tells the primary (besides the memory's messages, core/clusterMemory.ts). */
type ClusterMessage = { herald: "ready" };

const RESTART_DELAY_MS = 1000;
/** Beyond the workers' own shutdown_timeout, how long the primary waits before killing them. */
const SHUTDOWN_MARGIN_MS = 5000;

export async function runPrimary(config: HeraldConfig, log: Logger): Promise<number> {
  const wanted = config.http.workers;
  const metricsServer = config.metrics.prometheus.enabled ? await serveAggregatedMetrics(config, log) : undefined;
  const memory = new LocalMemory(config);
  let phase: "starting" | "serving" | "stopping" = "starting";
  let ready = 0;
  let failed = false;

  return new Promise<number>((resolve) => {
    const finish = (code: number) => {
      metricsServer?.close();
      resolve(code);
    };
    // Tracked here rather than read from cluster.workers, which still lists a worker while its exit is reported.
    const live = new Set<Worker>();
    const workers = () => [...live];
    const fork = () => live.add(cluster.fork());
    const stopAll = () => {
      phase = "stopping";
      if (workers().length === 0) return finish(0);
      for (const worker of workers()) worker.process.kill("SIGTERM");
      setTimeout(
        () => {
          log.warn(
            { workers: workers().map((w) => w.id) },
            "Workers still running after shutdown_timeout: killing them",
          );
          workers().forEach((w) => w.kill("SIGKILL"));
        },
        config.shutdown_timeout * 1000 + SHUTDOWN_MARGIN_MS,
      ).unref();
    };

    cluster.on("message", (worker, message: unknown) => {
      // A worker that went away meanwhile gets no answer: its recall has already been answered by its own mirror.
      const reply = (answer: MemoryMessage) => worker.isConnected() && worker.send(answer, ignoreError);
      if (answerMemoryMessage(memory, message, reply)) return;
      if (!isClusterMessage(message) || message.herald !== "ready" || phase !== "starting") return;
      if (++ready === wanted) {
        phase = "serving";
        log.info({ workers: wanted }, "All workers are serving");
      }
    });
    cluster.on("exit", (worker, code, signal) => {
      live.delete(worker);
      if (phase === "stopping") {
        if (workers().length === 0) finish(failed ? 1 : 0);
        return;
      }
      if (phase === "starting") {
        log.fatal({ worker: worker.id, code, signal }, "A worker could not start; stopping");
        failed = true;
        stopAll();
        return;
      }
      log.error({ worker: worker.id, code, signal }, "A worker died; starting another");
      setTimeout(() => phase === "serving" && fork(), RESTART_DELAY_MS).unref();
    });
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      log.info({ signal }, "Signal received");
      if (++signals > 1) {
        log.warn("Second signal: stopping the workers at once");
        workers().forEach((w) => w.kill("SIGKILL"));
        process.exit(1);
      }
      stopAll();
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);

    log.info({ workers: wanted }, "Starting workers");
    for (let i = 0; i < wanted; i++) fork();
  });
}

async function serveAggregatedMetrics(config: HeraldConfig, log: Logger) {
  const aggregator = new AggregatorRegistry();
  const server = createMetricsServer({
    contentType: aggregator.contentType,
    metrics: () => aggregator.clusterMetrics(),
  });
  await listen(server, config.metrics.prometheus.port, config.metrics.prometheus.address, METRICS_LISTENER_KEYS);
  const { address, port } = server.address() as AddressInfo;
  log.info({ address, port }, "Serving Prometheus metrics of every worker");
  return server;
}

/** In a worker: tell the primary this worker serves, and make its metrics part of the primary's aggregate. */
export function announceWorker(registry: Registry): void {
  // prom-client answers the primary's requests for metrics once an AggregatorRegistry exists in the worker.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  process.send?.({ herald: "ready" } satisfies ClusterMessage);
}

function ignoreError(): void {}

/** prom-client's aggregation uses the same channel: only Herald's own messages are read here. */
function isClusterMessage(message: unknown): message is ClusterMessage {
  return typeof message === "object" && message !== null && "herald" in message;
}
