/** `herald check-config`: the same validation as `serve`, plus building every pushkin (credential files, keys). */
import { Writable } from "node:stream";
import { ConfigError, configPath, loadConfig } from "../config/load.js";
import { createLogger } from "../observability/logger.js";
import { GatewayMetrics } from "../observability/metrics.js";
import { loadPushkins, PushkinLoadError } from "../pushkins/load.js";

export async function checkConfig(configFile: string | undefined): Promise<number> {
  const path = configPath(configFile);
  try {
    const { config, warnings } = loadConfig(path);
    for (const warning of warnings) console.error(`warning: ${warning}`);
    const pushkins = await loadPushkins(config, new GatewayMetrics({ processMetrics: false }), warningPrinter());
    await Promise.allSettled(pushkins.map((p) => p.close()));
    const apps = Object.entries(config.apps).map(([name, app]) => `  ${name} (${app.type})`);
    console.log(`${path}: configuration OK, ${apps.length} app(s):\n${apps.join("\n")}`);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError || error instanceof PushkinLoadError) {
      console.error(
        error instanceof ConfigError ? error.message : `invalid configuration in ${path}:\n  - ${error.message}`,
      );
      return 1;
    }
    throw error;
  }
}

/** A logger that prints what pushkins warn about at start-up as plain lines, like the config's own warnings. */
function warningPrinter() {
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) {
        const { pushkin, msg } = JSON.parse(line) as { pushkin?: string; msg: string };
        console.error(`warning: ${pushkin ? `apps.${JSON.stringify(pushkin)}: ` : ""}${msg}`);
      }
      done();
    },
  });
  return createLogger("warn", out);
}
