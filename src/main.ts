#!/usr/bin/env node
/**
 * The `herald` command.
 *
 *   herald serve [--config FILE]          run the push gateway
 *   herald check-config [--config FILE]   validate the config and build every pushkin, then exit
 *   herald demo [--port N]                Herald plus the sandbox providers, no credentials needed
 *   herald vapid-keys [--out FILE]        make a WebPush VAPID key pair
 *   herald send-test --app APP --pushkey KEY [--data JSON]
 *                                         send one test push and say what the provider answered
 *   herald import-push-relay FILE         print the push_relay section for Threema push-relay's config.toml
 *   herald --version                      print Herald's version
 *
 * The config path is --config, else $SYGNAL_CONF, else ./sygnal.yaml. Exit codes: 0 success, 1 invalid
 * configuration or failed start-up, 2 wrong usage.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const USAGE = `usage: herald <command> [options]

commands:
  serve          run the push gateway
  check-config   validate the configuration, build every pushkin, and exit
  demo           run Herald against local sandbox providers, no credentials needed (--port, default 5000)
  vapid-keys     make a WebPush VAPID key pair (--out FILE, default ./vapid_private.pem)
  send-test      send one test notification through an app and say what the provider answered
                 (--app APP_ID --pushkey KEY [--data JSON] [--verbose])
  import-push-relay FILE
                 print the push_relay section equivalent to Threema push-relay's config.toml FILE

The configuration file is --config, else $SYGNAL_CONF, else ./sygnal.yaml.
herald --version prints Herald's version; herald --help prints this.`;

/** The version in Herald's own package.json, read when asked: this file runs from dist/src/. */
function version(): string {
  const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return manifest.version;
}

interface Options {
  config?: string;
  port?: string;
  out?: string;
  app?: string;
  pushkey?: string;
  data?: string;
  verbose?: boolean;
}

interface Command {
  run: (options: Options, file: string | undefined) => Promise<number>;
  /** Takes one positional argument. */
  takesFile?: boolean;
}

// Each command's module is loaded when it runs: a serving process does not hold the demo's sandbox providers (their
// certificate library alone is some 15 MB), nor the other commands' code.
const COMMANDS: Record<string, Command> = {
  serve: { run: async (o) => (await import("./commands/serve.js")).serve(o.config) },
  "check-config": { run: async (o) => (await import("./commands/checkConfig.js")).checkConfig(o.config) },
  demo: {
    run: async (o) =>
      (await import("./commands/demo.js")).demo({ port: o.port === undefined ? undefined : Number(o.port) }),
  },
  "vapid-keys": { run: async (o) => (await import("./commands/vapidKeys.js")).vapidKeys(o.out) },
  "send-test": { run: async (o) => (await import("./commands/sendTest.js")).sendTest(o) },
  "import-push-relay": {
    run: async (_o, file) => (await import("./commands/importPushRelay.js")).importPushRelay(file),
    takesFile: true,
  },
};

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: "string", short: "c" },
        port: { type: "string", short: "p" },
        out: { type: "string", short: "o" },
        app: { type: "string" },
        pushkey: { type: "string" },
        data: { type: "string" },
        verbose: { type: "boolean", short: "v" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
      },
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
  if (parsed.values.version) {
    console.log(version());
    return 0;
  }
  const found = command ? COMMANDS[command] : undefined;
  if (!found || extra.length > (found.takesFile ? 1 : 0)) {
    console.error(command && !found ? `herald: unknown command '${command}'\n\n${USAGE}` : USAGE);
    return 2;
  }
  if (parsed.values.port !== undefined && !/^\d+$/.test(parsed.values.port)) {
    console.error(`herald: --port must be a number\n\n${USAGE}`);
    return 2;
  }
  return found.run(parsed.values, extra[0]);
}

process.exitCode = await main(process.argv.slice(2));
