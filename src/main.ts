#!/usr/bin/env node
/**
 * The `herald` command.
 *
 *   herald serve [--config FILE]          run the push gateway
 *   herald check-config [--config FILE]   validate the config and build every pushkin, then exit
 *
 * The config path is --config, else $SYGNAL_CONF, else ./sygnal.yaml. Exit codes: 0 success, 1 invalid
 * configuration or failed start-up, 2 wrong usage.
 */
import { parseArgs } from "node:util";
import { checkConfig } from "./commands/checkConfig.js";
import { serve } from "./commands/serve.js";

const USAGE = `usage: herald <command> [--config FILE]

commands:
  serve          run the push gateway
  check-config   validate the configuration, build every pushkin, and exit

The configuration file is --config, else $SYGNAL_CONF, else ./sygnal.yaml.`;

const COMMANDS: Record<string, (configFile: string | undefined) => Promise<number>> = {
  serve,
  "check-config": checkConfig,
};

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } },
    });
  } catch (error) {
    console.error(`herald: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const [command, ...extra] = parsed.positionals;
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  const run = command ? COMMANDS[command] : undefined;
  if (!run || extra.length > 0) {
    console.error(command && !run ? `herald: unknown command '${command}'\n\n${USAGE}` : USAGE);
    return 2;
  }
  return run(parsed.values.config);
}

process.exitCode = await main(process.argv.slice(2));
