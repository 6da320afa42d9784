/**
 * Builds the pushkin of every configured app.
 *
 * `type` names a built-in pushkin, or else a module exporting a pushkin factory (as Sygnal's `type` may name a Python
 * class): a path (absolute, or relative to the config file) or a package name, optionally followed by `#exportName`.
 * Without `#`, the module's `createPushkin` export is used, else its default export.
 */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Logger } from "pino";
import type { HeraldConfig } from "../config/types.js";
import { CredentialFailure, CredentialFileError, type Pushkin, type PushkinFactory } from "../core/pushkin.js";
import type { GatewayMetrics } from "../observability/metrics.js";

/** Built-in pushkin types, each loaded only when configured. */
const BUILT_IN: Record<string, () => Promise<PushkinFactory>> = {
  apns: async () => (await import("./apns/index.js")).createApnsPushkin,
  gcm: async () => (await import("./fcm/index.js")).createFcmPushkin,
  webpush: async () => (await import("./webpush/index.js")).createWebPushPushkin,
  hms: async () => (await import("./hms/index.js")).createHmsPushkin,
  threema: async () => (await import("./threema/index.js")).createThreemaPushkin,
  walletconnect: async () => (await import("./walletconnect/index.js")).createWalletConnectPushkin,
};

export function builtInTypes(): string[] {
  return Object.keys(BUILT_IN);
}

/** Names people give a built-in type by mistake: Firebase's own name for the `gcm` pushkin, other spellings. */
const OTHER_NAMES: Record<string, string> = {
  fcm: "gcm",
  firebase: "gcm",
  apn: "apns",
  ios: "apns",
  android: "gcm",
  huawei: "hms",
};

/** The built-in type a type that is none probably meant: `fcm` → `gcm`, `APNS` → `apns`, `web-push` → `webpush`. */
function meantType(type: string): string | undefined {
  const plain = type.toLowerCase().replace(/[-_ ]/g, "");
  return OTHER_NAMES[plain] ?? (plain !== type && plain in BUILT_IN ? plain : undefined);
}

export class PushkinLoadError extends Error {
  override readonly name = "PushkinLoadError";
  constructor(
    readonly app: string,
    message: string,
  ) {
    super(`apps.${JSON.stringify(app)}: ${message}`);
  }
}

export interface LoadOptions {
  /**
   * `serve`: an app whose credential file is missing or unusable is served by a stand-in that answers every push with
   * a `CredentialFailure` (502), so that the other apps keep working. Otherwise (`check-config`) it stops the load.
   */
  standInForBrokenCredentials?: boolean;
}

export async function loadPushkins(
  config: HeraldConfig,
  metrics: GatewayMetrics,
  log: Logger,
  options: LoadOptions = {},
): Promise<Pushkin[]> {
  const pushkins: Pushkin[] = [];
  try {
    for (const [name, appConfig] of Object.entries(config.apps)) {
      const factory = await findFactory(name, appConfig.type, config.dir);
      try {
        pushkins.push(
          await factory({
            name,
            config: appConfig,
            configDir: config.dir,
            proxy: config.proxy,
            metrics: metrics.registry,
            log: log.child({ pushkin: name }),
          }),
        );
      } catch (error) {
        if (error instanceof CredentialFileError && options.standInForBrokenCredentials) {
          pushkins.push(standIn(name, error));
          continue;
        }
        throw new PushkinLoadError(name, (error as Error).message);
      }
    }
  } catch (error) {
    await Promise.allSettled(pushkins.map((p) => p.close()));
    throw error;
  }
  return pushkins;
}

/** Serves an app whose credentials could not be loaded: every push fails (502), never rejected. */
function standIn(name: string, error: CredentialFileError): Pushkin {
  const problem = new CredentialFailure(`its credentials could not be loaded at start-up: ${error.message}`, {
    fix: "correct the file named, check it with `herald check-config`, then restart Herald",
  });
  return {
    name,
    dispatch: () => Promise.reject(problem),
    close: async () => {},
    credentialProblem: () => problem,
  };
}

async function findFactory(app: string, type: string, configDir: string): Promise<PushkinFactory> {
  const builtIn = BUILT_IN[type];
  if (builtIn) return builtIn();

  const hash = type.lastIndexOf("#");
  const specifier = hash > 0 ? type.slice(0, hash) : type;
  const exportName = hash > 0 ? type.slice(hash + 1) : undefined;
  const isPath = specifier.startsWith(".") || isAbsolute(specifier);
  const url = isPath ? pathToFileURL(resolve(configDir, specifier)).href : specifier;

  let module: Record<string, unknown>;
  try {
    module = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    const builtIns = builtInTypes().join(", ") || "none yet";
    const meant = meantType(type);
    const reason = (error as Error).message;
    throw new PushkinLoadError(
      app,
      meant
        ? `type '${type}' is not a built-in pushkin: did you mean type: ${meant}? (the built-in pushkins are ${builtIns}; as a module, '${type}' could not be loaded: ${reason})`
        : `type '${type}' is not a built-in pushkin (${builtIns}) and could not be loaded as a module: ${reason}`,
    );
  }
  const factory = exportName ? module[exportName] : (module.createPushkin ?? module.default);
  if (typeof factory !== "function") {
    const wanted = exportName ? `an export '${exportName}'` : "a 'createPushkin' or default export";
    throw new PushkinLoadError(app, `the module '${specifier}' has no ${wanted} that is a pushkin factory function`);
  }
  return factory as PushkinFactory;
}
