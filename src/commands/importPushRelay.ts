/**
 * `herald import-push-relay config.toml`: reads Threema push-relay's config.toml and prints the equivalent
 * `push_relay:` section of Herald's config on stdout, with comments for what does not carry over (InfluxDB, keys
 * push-relay does not know). The result is checked against Herald's config schema; a file that is not TOML, or whose
 * values Herald would refuse, is an error naming the key, and exit code 1.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse as parseToml } from "smol-toml";
import { writeYaml } from "../config/yaml.js";
import { ConfigError, parseConfig } from "../config/load.js";
import { isJsonObject, type JsonObject } from "../core/notification.js";
import { loadSchema } from "../schemas.js";

const INFLUXDB_NOTE =
  "influxdb: Herald writes no InfluxDB statistics; its push counts are the Prometheus metric herald_push_relay_pushes_total (turn on metrics.prometheus)";

export async function importPushRelay(file: string | undefined): Promise<number> {
  if (file === undefined) {
    console.error("herald import-push-relay: give the path of push-relay's config.toml");
    return 2;
  }
  const fail = (why: string) => {
    console.error(`herald import-push-relay: ${file}: ${why}`);
    return 1;
  };
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    return fail((error as NodeJS.ErrnoException).code === "ENOENT" ? "the file does not exist" : String(error));
  }
  if (text.trim() === "") return fail("the file is empty (push-relay refuses an empty config too)");
  let toml: JsonObject;
  try {
    toml = parseToml(text) as JsonObject;
  } catch (error) {
    return fail(`not valid TOML: ${(error as Error).message}`);
  }

  const { section, notes } = convertPushRelayToml(toml);
  try {
    parseConfig(writeYaml({ push_relay: section }), resolve(file), {});
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const problems = error.problems.map((p) => `  - ${p.replace(/^push_relay\./, "")}`);
    return fail(`Herald cannot use these values:\n${problems.join("\n")}`);
  }
  process.stdout.write(renderSection(file, section, notes));
  return 0;
}

/** The `push_relay` section of a parsed config.toml, and a note for each thing left out. */
export function convertPushRelayToml(toml: JsonObject): { section: JsonObject; notes: string[] } {
  const known = knownKeys();
  const section: JsonObject = {};
  const notes: string[] = [];
  const pick = (value: unknown, keys: Set<string>, where: string) => {
    if (!isJsonObject(value)) return value; // the schema check names it
    const kept: JsonObject = {};
    for (const [key, item] of Object.entries(value)) {
      if (keys.has(key)) kept[key] = item;
      else notes.push(`${where}.${key}: not a key of push-relay's config`);
    }
    return kept;
  };
  for (const [name, value] of Object.entries(toml)) {
    if (name === "influxdb") notes.push(INFLUXDB_NOTE);
    else if (name === "hms" && isJsonObject(value)) {
      section.hms = Object.fromEntries(
        Object.entries(value).map(([appId, app]) => [appId, pick(app, known.hmsApp, `hms.${appId}`)]),
      );
    } else if (known.sections.has(name) && name !== "hms") {
      section[name] = pick(value, known.section(name), name);
    } else notes.push(`${name}: not a section of push-relay's config`);
  }
  // push-relay 6 reads the project id as a string; older ones as a number.
  const fcm = section.fcm;
  if (isJsonObject(fcm) && typeof fcm.project_id === "number") fcm.project_id = String(fcm.project_id);
  return { section, notes };
}

interface ObjectSchema {
  properties?: Record<string, ObjectSchema>;
  additionalProperties?: ObjectSchema | boolean;
}

/** The keys of each sub-section, from Herald's config schema. */
function knownKeys() {
  const schema = loadSchema("config.schema.json") as ObjectSchema;
  const sections = schema.properties?.push_relay?.properties ?? {};
  const keysOf = (section: ObjectSchema | boolean | undefined) =>
    new Set(typeof section === "object" ? Object.keys(section.properties ?? {}) : []);
  return {
    // rate_limits is Herald's own section: push-relay has no limits.
    sections: new Set(Object.keys(sections).filter((name) => name !== "influxdb" && name !== "rate_limits")),
    section: (name: string) => keysOf(sections[name]),
    hmsApp: keysOf(sections.hms?.additionalProperties),
  };
}

function renderSection(file: string, section: JsonObject, notes: string[]): string {
  const lines = [
    `# Converted from ${resolve(file)} by herald import-push-relay.`,
    "# Put this section into Herald's config file. Relative paths (apns.keyfile, threema_gateway.private_key_file)",
    "# are read from the directory of Herald's config file; push-relay read them from its working directory.",
    ...(notes.length > 0 ? ["# Not carried over:", ...notes.map((note) => `#   ${note}`)] : []),
  ];
  // YAML 1.1, as Herald reads it: a value such as "yes" stays a string.
  return `${lines.join("\n")}\n${writeYaml({ push_relay: section })}`;
}
