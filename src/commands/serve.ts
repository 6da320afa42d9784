/**
 * `herald serve`: load the config, start, and shut down gracefully on SIGTERM or SIGINT (a second signal exits at
 * once, whichever it is). A broken config or a failed start-up exits 1 with the reason; Sygnal would exit 0.
 * With `http.workers` > 1 this process becomes the primary of a cluster (src/cluster.ts), and each worker runs
 * this same command. A start-up that fails for a reason Herald did not foresee is reported to Sentry when
 * `metrics.sentry` is enabled, as the 500s are.
 */
import cluster from "node:cluster";
import type { Logger } from "pino";
import { announceWorker, runPrimary } from "../cluster.js";
import { ConfigError, configPath, loadConfig } from "../config/load.js";
import type { HeraldConfig } from "../config/types.js";
import { ClusterMemory } from "../core/clusterMemory.js";
import { ListenError } from "../core/listen.js";
import { openErrorReports } from "../observability/errorReports.js";
import { createLogger } from "../observability/logger.js";
import { PushkinLoadError } from "../pushkins/load.js";
import { PushRelayConfigError } from "../pushRelay/settings.js";
import { startHerald } from "../server.js";
import { StoreOpenError } from "../store/index.js";
import { WalletConnectConfigError } from "../walletConnect/settings.js";

export async function serve(configFile: string | undefined): Promise<number> {
  const path = configPath(configFile);
  let loaded;
  try {
    loaded = loadConfig(path);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return 1;
  }
  const { config, warnings } = loaded;
  const root = createLogger(config.log.level);
  if (cluster.isWorker) {
    const code = await serveHerald(config, path, root.child({ worker: cluster.worker?.id }));
    // The channel to the primary would keep the worker alive after it is done.
    cluster.worker?.disconnect();
    return code;
  }

  root.info({ config: path }, "Using configuration file");
  for (const warning of warnings) root.warn(`config: ${warning}`);
  return config.http.workers > 1 ? runPrimary(config, root) : serveHerald(config, path, root);
}

/** One Herald: the whole gateway, or one worker of a cluster. */
async function serveHerald(config: HeraldConfig, path: string, log: Logger): Promise<number> {
  let errorReports;
  try {
    errorReports = await openErrorReports(config.metrics.sentry, config.proxy, log);
  } catch (error) {
    log.fatal(`Start-up failed: ${(error as Error).message}`);
    return 1;
  }
  let herald;
  try {
    herald = await startHerald(config, log, {
      metricsListener: !cluster.isWorker,
      // A worker's memory is the primary's, shared by every worker.
      memory: cluster.isWorker ? () => new ClusterMemory(config, process) : undefined,
      errorReports,
    });
  } catch (error) {
    if (
      error instanceof PushkinLoadError ||
      error instanceof PushRelayConfigError ||
      error instanceof WalletConnectConfigError
    )
      log.fatal(`invalid configuration in ${path}: ${error.message}`);
    else if (error instanceof ListenError) log.fatal(`Start-up failed: ${error.message}`);
    else {
      log.fatal({ err: error }, `Start-up failed: ${(error as Error).message}`);
      // A registry that cannot be opened is the operator's to mend, as a broken configuration or a port taken are
      // (above); anything else is a bug.
      if (!(error instanceof StoreOpenError)) errorReports.unexpected(error, { log, tags: { phase: "start-up" } });
    }
    await errorReports.close(REPORTS_FLUSH_MS);
    return 1;
  }
  if (cluster.isWorker) announceWorker(herald.metrics.registry);

  await new Promise<void>((resolve) => {
    const stop = () =>
      herald.shutdown().then(resolve, (error: unknown) => {
        log.error({ err: error }, "Error during shutdown");
        resolve();
      });
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      log.info({ signal }, "Signal received");
      // In a cluster the primary decides when to give up: a worker may get Ctrl-C's SIGINT and the primary's SIGTERM.
      if (++signals > 1 && !cluster.isWorker) {
        log.warn("Second signal: exiting at once");
        process.exit(1);
      }
      void stop();
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
  exitIfStillRunning(log, 0);
  return 0;
}

/** A failed start-up's report: how long it may take to be sent before the process exits. */
const REPORTS_FLUSH_MS = 2000;

/** After shutdown, how long the process may take to end by itself before it is ended. */
const EXIT_GRACE_MS = 1000;

/**
 * Nothing should keep the process alive once Herald has shut down. If something does (a provider's socket Node failed
 * to close), a stopped gateway must still not linger: it exits, saying what was left open.
 */
function exitIfStillRunning(log: Logger, code: number): void {
  setTimeout(() => {
    log.warn({ resources: process.getActiveResourcesInfo() }, "Still running after shutdown: exiting");
    process.exit(code);
  }, EXIT_GRACE_MS).unref();
}
