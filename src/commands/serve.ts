/**
 * `herald serve`: load the config, start, and shut down gracefully on SIGTERM or SIGINT (a second signal exits at
 * once, whichever it is). A broken config or a failed start-up exits 1 with the reason; Sygnal would exit 0.
 */
import { ConfigError, configPath, loadConfig } from "../config/load.js";
import { createLogger } from "../observability/logger.js";
import { PushkinLoadError } from "../pushkins/load.js";
import { startHerald } from "../server.js";

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
  const log = createLogger(config.log.level);
  log.info({ config: path }, "Using configuration file");
  for (const warning of warnings) log.warn(`config: ${warning}`);

  let herald;
  try {
    herald = await startHerald(config, log);
  } catch (error) {
    if (error instanceof PushkinLoadError) log.fatal(`invalid configuration in ${path}: ${error.message}`);
    else log.fatal({ err: error }, `Start-up failed: ${(error as Error).message}`);
    return 1;
  }

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      log.info({ signal }, "Signal received");
      if (stopping) {
        log.warn("Second signal: exiting at once");
        process.exit(1);
      }
      stopping = true;
      herald.shutdown().then(resolve, (error: unknown) => {
        log.error({ err: error }, "Error during shutdown");
        resolve();
      });
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
  return 0;
}
