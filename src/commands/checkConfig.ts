/**
 * `herald check-config`: the same validation as `serve`, plus building every pushkin and push-relay's engine
 * (credential files, keys), and checking the `walletconnect` section against the apps (its registry is not opened:
 * checking a config creates no database).
 */
import { Writable } from "node:stream";
import { ConfigError, configPath, loadConfig } from "../config/load.js";
import { createLogger } from "../observability/logger.js";
import { GatewayMetrics } from "../observability/metrics.js";
import type { PushRelayConfig } from "../config/types.js";
import { loadPushkins, PushkinLoadError } from "../pushkins/load.js";
import { PushRelayConfigError } from "../pushRelay/settings.js";
import { createPushRelaySender } from "../server.js";
import {
  readWalletConnectSettings,
  WalletConnectConfigError,
  type WalletConnectSettings,
} from "../walletConnect/settings.js";

export async function checkConfig(configFile: string | undefined): Promise<number> {
  const path = configPath(configFile);
  try {
    const { config, warnings } = loadConfig(path);
    for (const warning of warnings) console.error(`warning: ${warning}`);
    const metrics = new GatewayMetrics({ processMetrics: false });
    const walletConnect =
      config.walletconnect && readWalletConnectSettings(config.walletconnect, config.apps, config.dir);
    const printer = warningPrinter();
    const pushkins = await loadPushkins(config, metrics, printer);
    // Credentials that can be seen not to work without asking the provider (an expired certificate).
    const problems = pushkins.flatMap((p) => {
      const problem = p.credentialProblem?.();
      return problem ? [`apps.${JSON.stringify(p.name)}: ${problem.message}`] : [];
    });
    try {
      await (config.push_relay && createPushRelaySender(config, metrics, printer))?.close();
    } finally {
      await Promise.allSettled(pushkins.map((p) => p.close()));
    }
    if (problems.length > 0) {
      console.error(`invalid configuration in ${path}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
      return 1;
    }
    const apps = Object.entries(config.apps).map(([name, app]) => `  ${name} (${app.type})`);
    console.log(`${path}: configuration OK, ${apps.length} app(s):\n${apps.join("\n")}`);
    if (config.push_relay) console.log(`push_relay (POST /push): ${pushRelayProviders(config.push_relay)}`);
    if (walletConnect) console.log(`walletconnect (/clients): ${walletConnectSummary(walletConnect)}`);
    const publicListener = config.http.public_listener;
    if (publicListener) {
      const where = publicListener.bind_addresses.map((address) => `${address} port ${publicListener.port}`);
      console.log(
        `public surfaces on their own listener (http.public_listener): ${where.join(", ")}; /notify on http.port alone`,
      );
    }
    return 0;
  } catch (error) {
    if (
      error instanceof ConfigError ||
      error instanceof PushkinLoadError ||
      error instanceof PushRelayConfigError ||
      error instanceof WalletConnectConfigError
    ) {
      console.error(
        error instanceof ConfigError ? error.message : `invalid configuration in ${path}:\n  - ${error.message}`,
      );
      return 1;
    }
    throw error;
  }
}

/** e.g. "fcm, apns, hms (2 apps)", or "no provider" for an empty section. */
function pushRelayProviders(section: PushRelayConfig): string {
  const hms = Object.keys(section.hms ?? {}).length;
  const providers = [
    section.fcm && "fcm",
    section.apns && "apns",
    hms > 0 && `hms (${hms} app${hms === 1 ? "" : "s"})`,
    section.threema_gateway && "threema_gateway",
  ].filter((p): p is string => typeof p === "string");
  return providers.join(", ") || "no provider";
}

/**
 * e.g. "apns → com.example.ios, fcm → com.example.android; any project under /{project id}/clients; registry sqlite
 * /srv/herald/data/walletconnect.sqlite3"
 */
function walletConnectSummary(settings: WalletConnectSettings): string {
  const providersOf = (providers: ReadonlyMap<string, string>) => {
    const served = [...providers].map(([type, app]) => `${type} → ${app}`);
    if (settings.acceptNoop) served.push("noop");
    return served.join(", ") || "no provider";
  };
  const projects = settings.tenants
    ? [...settings.tenants].map(([id, tenant]) => `project ${id}: ${providersOf(tenant.providers)}`).join("; ") ||
      "no project"
    : settings.allowedTenants
      ? `projects ${[...settings.allowedTenants].join(", ")} share them`
      : "any project under /{project id}/clients shares them";
  const { store } = settings;
  const registry = store.kind === "sqlite" ? `sqlite ${store.path}` : `postgres (schema ${store.schema ?? "herald"})`;
  return `${providersOf(settings.defaultTenant.providers)}; ${projects}; registry ${registry}`;
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
