/**
 * Reads and validates the configuration file.
 *
 * The path is `--config`, else `SYGNAL_CONF`, else `./sygnal.yaml` (Sygnal's rule). The YAML is validated against
 * `schemas/config.schema.json` with every error collected, so one run names every broken key. Unknown keys only warn,
 * as in Sygnal; everything else (a wrong type, a missing required key, a missing file) is a ConfigError whose lines
 * each name the key, what was expected and what was found.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { ErrorObject } from "ajv";
import type { LevelWithSilent } from "pino";
import { isJsonObject, type JsonObject } from "../core/notification.js";
import { createAjv, loadSchema } from "../schemas.js";
import { parseProxyUrl, ProxyUrlError, type ProxyConfig } from "./proxy.js";
import type {
  AppConfig,
  HeraldConfig,
  OpenTelemetryConfig,
  OpenTracingConfig,
  PushRelayConfig,
  SentryConfig,
  WalletConnectConfig,
} from "./types.js";
import { resolveTracing } from "./tracing.js";
import { listenerClashes, type ListenerConfig } from "./listeners.js";
import { readYaml, YamlError } from "./yaml.js";
import { addressListProblems } from "./addresses.js";
import { filePermissionWarnings } from "./filePermissions.js";
import { redisProblems } from "./redis.js";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    readonly path: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration in ${path}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

export interface LoadedConfig {
  config: HeraldConfig;
  warnings: string[];
}

export function configPath(cliPath: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(cliPath ?? env.SYGNAL_CONF ?? "sygnal.yaml");
}

const validateConfig = createAjv({ allErrors: true, useDefaults: true }).compile(loadSchema("config.schema.json"));

export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "the file does not exist" : String(error);
    throw new ConfigError(path, [`cannot read the configuration file: ${reason}`]);
  }
  const loaded = parseConfig(text, path, env);
  loaded.warnings.push(...filePermissionWarnings(loaded.config as unknown as JsonObject, path, loaded.config.dir));
  return loaded;
}

export function parseConfig(text: string, path: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let raw: unknown;
  try {
    // As Sygnal's PyYAML reads it: YAML 1.1, where `enabled: yes` is true and `key_id: 0123456789` is a string.
    raw = readYaml(text) ?? {};
  } catch (error) {
    if (error instanceof YamlError) throw new ConfigError(path, error.problems);
    throw error;
  }
  if (!isJsonObject(raw)) throw new ConfigError(path, ["the file must hold a YAML mapping of keys to values"]);

  const warnings: string[] = [];
  const problems: string[] = [];
  if (!validateConfig(raw)) {
    for (const error of relevantErrors(validateConfig.errors ?? [])) {
      if (error.keyword === "additionalProperties") warnings.push(unknownKeyWarning(error));
      else problems.push(describe(error));
    }
  }
  for (const legacy of ["db", "database"]) {
    if (legacy in raw)
      warnings.push(`'${legacy}': Herald, like Sygnal since 0.10, keeps no database; the key is ignored`);
  }
  if (problems.length > 0) throw new ConfigError(path, problems);
  const clashes = listenerClashes(raw as unknown as ListenerConfig);
  if (clashes.length > 0) throw new ConfigError(path, clashes);
  const http = raw.http as unknown as HeraldConfig["http"];
  if (http.public_listener && raw.push_relay == null && raw.walletconnect == null) {
    throw new ConfigError(path, [
      "http.public_listener: there is no public surface to serve on it: add a push_relay or walletconnect section, or remove http.public_listener",
    ]);
  }
  const badAddresses = addressListProblems({
    "http.trusted_proxies": http.trusted_proxies,
    "http.exempt_addresses": http.exempt_addresses,
  });
  if (badAddresses.length > 0) throw new ConfigError(path, badAddresses);
  const badRedis = redisProblems(raw.redis as unknown as HeraldConfig["redis"], raw.request_deadline as number);
  if (badRedis.length > 0) throw new ConfigError(path, badRedis);

  const metrics = raw.metrics as JsonObject & { [k: string]: JsonObject };
  const tracing = resolveTracing(
    metrics.opentelemetry as unknown as OpenTelemetryConfig,
    metrics.opentracing as unknown as OpenTracingConfig,
  );
  warnings.push(...tracing.warnings);
  if (tracing.problems.length > 0) throw new ConfigError(path, tracing.problems);
  const sentry = metrics.sentry as unknown as SentryConfig;
  if (sentry.enabled && sentry.dsn === undefined)
    warnings.push("metrics.sentry.enabled: no metrics.sentry.dsn is set, so nothing is reported to Sentry");
  if (sentry.enabled && sentry.dsn !== undefined && !isSentryDsn(sentry.dsn)) {
    // The DSN is not repeated: it holds the project's key.
    throw new ConfigError(path, [
      "metrics.sentry.dsn: expected a Sentry DSN, https://<public key>@<host>/<project id> (the project's Client Keys page shows it)",
    ]);
  }
  const pushRelay = raw.push_relay as PushRelayConfig | undefined;
  if (pushRelay?.influxdb !== undefined) {
    warnings.push(
      "push_relay.influxdb: Herald writes no InfluxDB statistics; its push counts are Prometheus metrics (herald_push_relay_pushes_total); ignored",
    );
  }

  const walletconnect = raw.walletconnect as Partial<WalletConnectConfig> | undefined;
  if (walletconnect?.require_client_auth === true && walletconnect.public_url === undefined) {
    warnings.push(
      "walletconnect.require_client_auth: without walletconnect.public_url a wallet's JWT is not checked for this server's audience, so one made for another push server is accepted here; set public_url",
    );
  }

  const proxy = proxyFrom(raw.proxy, env, path);
  const config = raw as unknown as Omit<HeraldConfig, "path" | "dir" | "proxy" | "log" | "push_relay"> & {
    log: JsonObject;
  };
  const prometheus = config.metrics.prometheus;
  return {
    warnings,
    config: {
      ...config,
      path,
      dir: dirname(path),
      proxy,
      log: { level: logLevel(config.log), access: config.log.access as HeraldConfig["log"]["access"] },
      metrics: { prometheus: { ...prometheus, address: prometheus.address || undefined }, sentry },
      tracing: tracing.settings,
      apps: (config.apps ?? {}) as Record<string, AppConfig>,
      push_relay: pushRelay,
    },
  };
}

/** `http(s)://<public key>[:<secret>]@<host>[:<port>]/[<path>/]<project id>`, as Sentry's SDKs read a DSN. */
function isSentryDsn(dsn: string): boolean {
  let url: URL;
  try {
    url = new URL(dsn);
  } catch {
    return false;
  }
  return ["http:", "https:"].includes(url.protocol) && url.username !== "" && /\/[^/]+$/.test(url.pathname);
}

function proxyFrom(value: unknown, env: NodeJS.ProcessEnv, path: string): ProxyConfig | undefined {
  const [key, url] = typeof value === "string" && value ? ["proxy", value] : ["HTTPS_PROXY", env.HTTPS_PROXY];
  if (!url) return undefined;
  try {
    return parseProxyUrl(url);
  } catch (error) {
    if (error instanceof ProxyUrlError) throw new ConfigError(path, [`${key}: the proxy URL ${error.message}`]);
    throw error;
  }
}

/** Sygnal's Python dictConfig: the level of the `sygnal` logger, else of the root logger. */
const PYTHON_LEVELS: Record<string, LevelWithSilent> = {
  CRITICAL: "fatal",
  FATAL: "fatal",
  ERROR: "error",
  WARNING: "warn",
  WARN: "warn",
  INFO: "info",
  DEBUG: "debug",
  NOTSET: "trace",
};

function logLevel(log: JsonObject): LevelWithSilent {
  if (typeof log.level === "string") return log.level as LevelWithSilent;
  const setup = isJsonObject(log.setup) ? log.setup : {};
  const loggers = isJsonObject(setup.loggers) ? setup.loggers : {};
  const sygnal = isJsonObject(loggers.sygnal) ? loggers.sygnal : {};
  const root = isJsonObject(setup.root) ? setup.root : {};
  const level = sygnal.level ?? root.level;
  return (typeof level === "string" && PYTHON_LEVELS[level.toUpperCase()]) || "info";
}

/** `if`/`then` errors only repeat the nested error that caused them. */
function relevantErrors(errors: ErrorObject[]): ErrorObject[] {
  return errors.filter((e) => e.keyword !== "if");
}

/** `/apps/com.example.apns/topic` → `apps."com.example.apns".topic` */
function keyPath(instancePath: string, child?: string): string {
  const segments = instancePath
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (child !== undefined) segments.push(child);
  if (segments.length === 0) return "(top level)";
  return dottedKey(segments);
}

/** `["apps", "com.example.apns", "topic"]` → `apps."com.example.apns".topic`: how messages name a key. */
export function dottedKey(segments: string[]): string {
  return segments.map((s) => (/^[A-Za-z0-9_]+$/.test(s) ? s : JSON.stringify(s))).join(".");
}

function unknownKeyWarning(error: ErrorObject): string {
  const key = (error.params as { additionalProperty: string }).additionalProperty;
  return `${keyPath(error.instancePath, key)}: unknown key, ignored`;
}

function found(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** A key written with no value is YAML's null: say so, and how to fix it. */
function emptyHint(value: unknown): string {
  return value === null ? " (the key has no value: give it one, or remove the line)" : "";
}

const YAML_TYPES: Record<string, string> = {
  object: "a mapping",
  array: "a list",
  string: "a string",
  integer: "an integer",
  number: "a number",
  boolean: "true or false",
  null: "null",
};

function describe(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  const custom = error.parentSchema?.["x-message"];
  const where = keyPath(error.instancePath);
  switch (error.keyword) {
    case "required": {
      const key = keyPath(error.instancePath, String(params.missingProperty));
      return `${key}: ${typeof custom === "string" ? custom : "required key is missing"}`;
    }
    case "type": {
      const types = String(params.type)
        .split(",")
        .map((t) => YAML_TYPES[t] ?? t);
      const quote =
        types.includes("a string") && ["number", "boolean"].includes(typeof error.data)
          ? " (write it in quotes to make it a string)"
          : "";
      return `${where}: expected ${types.join(" or ")}, found ${found(error.data)}${emptyHint(error.data)}${quote}`;
    }
    case "enum":
      return `${where}: expected one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}, found ${found(error.data)}${emptyHint(error.data)}`;
    case "minProperties":
      return typeof custom === "string" ? `${where}: ${custom}` : `${where}: must not be empty`;
    case "pattern":
      return `${where}: expected a value matching ${String(params.pattern)}, found ${found(error.data)}`;
    default:
      return `${where}: ${error.message ?? "is invalid"}, found ${found(error.data)}`;
  }
}
