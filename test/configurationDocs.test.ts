/**
 * docs/configuration.md's per-app key tables stay complete: every built-in pushkin type has a table, and each table
 * lists exactly the keys the config schema checks for that type, each with a default and a meaning, the schema's
 * default among them when it has one. The metrics table lists the keys of `metrics.prometheus`, `metrics.opentelemetry`
 * and `metrics.opentracing` likewise.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { builtInTypes } from "../src/pushkins/load.js";
import { loadSchema } from "../src/schemas.js";
import { repoRoot } from "./helpers/paths.js";

interface Row {
  keys: string[];
  type: string;
  default: string;
  meaning: string;
}

interface PropertySchema {
  default?: unknown;
}

const docs = readFileSync(join(repoRoot, "docs", "configuration.md"), "utf8");
const definitions = loadSchema("config.schema.json").definitions as Record<
  string,
  { properties: Record<string, PropertySchema | true>; allOf?: unknown[] }
>;

/** The text from the heading line `heading` to the next heading of the same or a higher level. */
function section(text: string, heading: string): string {
  const level = heading.match(/^#+/)![0].length;
  const start = text.split("\n").findIndex((line) => line === heading);
  assert.ok(start >= 0, `docs/configuration.md has no heading '${heading}'`);
  const lines = text.split("\n").slice(start + 1);
  const end = lines.findIndex((line) => new RegExp(`^#{1,${level}} `).test(line));
  return lines.slice(0, end < 0 ? undefined : end).join("\n");
}

/** The rows of the first markdown table of `text`, by its header's column names; the keys are the key cell's `names`. */
function firstTable(text: string, where: string): Row[] {
  const lines = text.split("\n");
  const header = lines.findIndex((line) => line.startsWith("|"));
  assert.ok(header >= 0, `${where} has no table`);
  const cells = (line: string) =>
    line
      .trim()
      .replace(/^\||\|$/g, "")
      .split("|")
      .map((cell) => cell.trim());
  const columns = cells(lines[header]!);
  const column = (name: string) => {
    const index = columns.indexOf(name);
    assert.ok(index >= 0, `${where}'s table has no '${name}' column`);
    return index;
  };
  const [key, type, fallback, meaning] = [column("key"), column("type"), column("default"), column("meaning")];
  const rows: Row[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith("|")) break;
    const row = cells(line);
    rows.push({
      keys: [...row[key]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!),
      type: row[type]!,
      default: row[fallback]!,
      meaning: row[meaning]!,
    });
  }
  return rows;
}

/** The built-in types the schema knows, from the `if type is X then definitions/X` branches of an app. */
function schemaTypes(): Map<string, string> {
  const types = new Map<string, string>();
  for (const branch of definitions.app!.allOf as {
    if: { properties: { type: { const: string } } };
    then: { $ref: string };
  }[]) {
    types.set(branch.if.properties.type.const, branch.then.$ref.replace("#/definitions/", ""));
  }
  return types;
}

const commonKeys = Object.keys(definitions.app!.properties);
const builtIn = section(docs, "### Built-in types");
/** Each `#### <type> …` heading of "Built-in types", by the type it names. */
const typeSections = new Map(
  [...builtIn.matchAll(/^#### (\S+).*$/gm)].map((m) => [m[1]!, section(builtIn, m[0])] as const),
);

function assertRowsComplete(rows: Row[], where: string): void {
  for (const row of rows) {
    for (const [column, text] of [
      ["type", row.type],
      ["default", row.default],
      ["meaning", row.meaning],
    ] as const) {
      assert.notEqual(text, "", `${where}: ${row.keys.join(", ")} has an empty ${column} cell`);
    }
  }
}

describe("docs/configuration.md's per-app key tables", () => {
  test("name every built-in type, as the schema and the pushkin loader know them", () => {
    assert.deepEqual([...schemaTypes().keys()].sort(), builtInTypes().sort());
    assert.deepEqual([...typeSections.keys()].sort(), builtInTypes().sort());
    const [typeRow] = firstTable(section(docs, "### Keys common to every app"), "Keys common to every app").filter(
      (row) => row.keys.includes("apps.<app>.type"),
    );
    assert.ok(typeRow, "the common keys' table has a row for apps.<app>.type");
    for (const type of builtInTypes()) assert.ok(typeRow.meaning.includes(`\`${type}\``), `type's row names ${type}`);
  });

  test("list the keys common to every app, with a default and a meaning", () => {
    const rows = firstTable(section(docs, "### Keys common to every app"), "Keys common to every app");
    assert.deepEqual(rows.flatMap((row) => row.keys.map((key) => key.replace(/^apps\.<app>\./, ""))).sort(), [
      ...commonKeys.sort(),
    ]);
    assertRowsComplete(rows, "Keys common to every app");
  });

  for (const [type, definition] of schemaTypes()) {
    test(`list every key of type ${type} in the schema, and none it lacks, with its default and meaning`, () => {
      const where = `the ${type} table`;
      const rows = firstTable(typeSections.get(type) ?? "", where);
      const properties = definitions[definition]!.properties;
      const schemaKeys = Object.keys(properties).filter((key) => !commonKeys.includes(key));
      assert.ok(schemaKeys.length > 0, `the schema has keys for ${type}`);
      assert.deepEqual(rows.flatMap((row) => row.keys).sort(), schemaKeys.sort(), `${where} against the schema`);
      assertRowsComplete(rows, where);
      for (const row of rows) {
        const property = properties[row.keys[0]!];
        if (typeof property === "object" && property.default !== undefined) {
          assert.ok(
            row.default.includes(JSON.stringify(property.default)),
            `${where}: ${row.keys[0]}'s default is the schema's, ${JSON.stringify(property.default)}; found ${row.default}`,
          );
        }
      }
    });
  }
});

describe("docs/configuration.md's redis table", () => {
  interface ObjectSchema {
    properties: Record<string, PropertySchema & Partial<ObjectSchema>>;
  }
  const schema = (loadSchema("config.schema.json").properties as Record<string, ObjectSchema>).redis!;

  /** Every key of the section, nested ones by their dotted path, with its schema. */
  function schemaKeys(object: ObjectSchema, path: string): [string, PropertySchema][] {
    return Object.entries(object.properties).flatMap(([key, property]): [string, PropertySchema][] => [
      [`${path}.${key}`, property],
      ...(property.properties ? schemaKeys(property as ObjectSchema, `${path}.${key}`) : []),
    ]);
  }

  test("lists every key of the schema's redis section, and none it lacks, with the schema's defaults", () => {
    const rows = firstTable(section(docs, "## redis"), "the redis table");
    const keys = new Map(schemaKeys(schema, "redis"));
    assert.deepEqual(rows.flatMap((row) => row.keys).sort(), [...keys.keys()].sort());
    assertRowsComplete(rows, "the redis table");
    for (const row of rows) {
      const fallback = keys.get(row.keys[0]!)?.default;
      if (fallback !== undefined)
        assert.ok(row.default.includes(JSON.stringify(fallback)), `${row.keys[0]}: ${row.default} against ${fallback}`);
    }
  });
});

describe("docs/configuration.md's metrics table", () => {
  const metrics = (
    loadSchema("config.schema.json").properties as Record<
      string,
      { properties: Record<string, { properties: Record<string, PropertySchema> }> }
    >
  ).metrics!.properties;
  const rows = firstTable(section(docs, "## metrics"), "the metrics table");
  assertRowsComplete(rows, "the metrics table");

  for (const name of ["prometheus", "opentelemetry", "opentracing"]) {
    test(`lists every key of metrics.${name} in the schema, and none it lacks, with the schema's default`, () => {
      const prefix = `metrics.${name}.`;
      const properties = metrics[name]!.properties;
      const documented = rows.filter((row) => row.keys.some((key) => key.startsWith(prefix)));
      assert.deepEqual(
        documented.flatMap((row) => row.keys.map((key) => key.slice(prefix.length))).sort(),
        Object.keys(properties).sort(),
      );
      for (const row of documented) {
        const property = properties[row.keys[0]!.slice(prefix.length)]!;
        if (property.default !== undefined)
          assert.ok(
            row.default.includes(JSON.stringify(property.default)),
            `${row.keys[0]}'s default is the schema's, ${JSON.stringify(property.default)}; found ${row.default}`,
          );
      }
    });
  }
});
