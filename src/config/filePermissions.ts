/**
 * Warnings for files that others can change: the config, and every key, certificate, CA or module it names. Whoever
 * can write one of them can make Herald push with their key, trust their certificate authority or run their code, so
 * a file writable by its group or by everyone is worth a line at start-up (and in `check-config`), though not a
 * refusal: some deployments share a group on purpose.
 */
import { statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import type { JsonObject } from "../core/notification.js";

/** The keys whose value is a file Herald reads, wherever they appear in the config. */
const FILE_KEYS = new Set([
  "keyfile",
  "certfile",
  "ca",
  "service_account_file",
  "vapid_private_key",
  "private_key_file",
  "signing_key_file",
]);

export function filePermissionWarnings(config: JsonObject, configPath: string, dir: string): string[] {
  if (process.platform === "win32") return [];
  const files: [key: string, path: string][] = [["the configuration file", configPath]];
  collect(config, [], files, dir);
  const warnings: string[] = [];
  const seen = new Set<string>();
  for (const [key, path] of files) {
    if (seen.has(path)) continue;
    seen.add(path);
    let mode: number;
    try {
      mode = statSync(path).mode;
    } catch {
      continue; // a missing file is reported where it is loaded
    }
    const writers = [mode & 0o020 ? "its group" : "", mode & 0o002 ? "everyone" : ""].filter(Boolean);
    if (writers.length === 0) continue;
    const octal = (mode & 0o777).toString(8).padStart(4, "0");
    warnings.push(
      `${key}: ${path} can be changed by ${writers.join(" and ")} (mode ${octal}), who could then push as this gateway or change what it trusts: chmod go-w ${path}`,
    );
  }
  return warnings;
}

function collect(value: unknown, keys: string[], files: [string, string][], dir: string): void {
  if (Array.isArray(value)) return value.forEach((item, i) => collect(item, [...keys, String(i)], files, dir));
  if (typeof value !== "object" || value === null) return;
  for (const [key, item] of Object.entries(value)) {
    const here = [...keys, key];
    if (typeof item === "string" && item && (FILE_KEYS.has(key) || isModulePath(key, item))) {
      const file = key === "type" ? item.split("#")[0]! : item;
      files.push([here.join("."), isAbsolute(file) ? file : resolve(dir, file)]);
    } else collect(item, here, files, dir);
  }
}

/** An app's `type` that is a module on disk (`./my-pushkin.js`, `/opt/pushkins/x.js#Export`), not a package. */
function isModulePath(key: string, value: string): boolean {
  return key === "type" && /^(\.{1,2}\/|\/)/.test(value) && !!value.split("#")[0];
}
