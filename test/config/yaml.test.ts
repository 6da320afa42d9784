/**
 * Herald reads YAML as Sygnal's PyYAML `safe_load` does: checked against test/config/pyyaml-expectations.json, the
 * data PyYAML itself gave for some 1,800 scalars and documents (scripts/pyyaml-expectations.py writes it; no Python is
 * needed here).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { readYaml, writeYaml, YamlError } from "../../src/config/yaml.js";
import { repoRoot } from "../helpers/paths.js";

interface Row {
  yaml: string;
  data?: unknown;
  error?: string;
}

const table = JSON.parse(readFileSync(join(repoRoot, "test/config/pyyaml-expectations.json"), "utf8")) as {
  pyyaml: string;
  rows: Row[];
};

/** Herald refuses these tags: no Herald key takes such a value, and JSON has no form for them. */
const REFUSED = Symbol("refused");

/** PyYAML's result in Herald's form: the table's tagged values decoded (see the script for the encoding). */
function heraldForm(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(heraldForm);
  if (typeof value !== "object" || value === null) return value;
  const tagged = value as Record<string, unknown>;
  if ("$float" in tagged) return { inf: Infinity, "-inf": -Infinity, nan: NaN }[tagged.$float as string];
  // Beyond 2^53, the nearest number.
  if ("$int" in tagged) return Number(BigInt(tagged.$int as string));
  // A date or time is its ISO 8601 text, as Python's isoformat() writes it.
  if ("$timestamp" in tagged) return tagged.$timestamp;
  if ("$binary" in tagged || "$set" in tagged || "$pairs" in tagged) return REFUSED;
  return Object.fromEntries(Object.entries(tagged).map(([k, v]) => [k, heraldForm(v)]));
}

function containsRefused(value: unknown): boolean {
  if (value === REFUSED) return true;
  if (typeof value !== "object" || value === null) return false;
  return Object.values(value).some(containsRefused);
}

type Outcome = { data: unknown } | { error: string };

function herald(yaml: string): Outcome {
  try {
    return { data: readYaml(yaml) };
  } catch (error) {
    assert.ok(error instanceof YamlError, `not a YamlError: ${String(error)}`);
    return { error: error.message };
  }
}

/**
 * Where Herald and PyYAML differ: the `yaml` package's parser and PyYAML's disagree on these corner cases of syntax.
 * `herald` is what Herald does instead.
 */
const DIFFERENCES: { yaml: string; herald: "reads it" | "refuses it" | unknown; why: string }[] = [
  // PyYAML refuses these; Herald reads them.
  ...["v: [:20]\n", "v: [::1]\n", "v: [::]\n", "bind_addresses: [0.0.0.0, ::]\n"].map((yaml) => ({
    yaml,
    herald: "reads it",
    why: "a plain scalar that starts with ':' in a flow list",
  })),
  { yaml: "v: [!]\n", herald: "reads it", why: "a lone tag in a flow list is an empty value" },
  { yaml: "&: v\n", herald: "reads it", why: "an anchor without a name" },
  { yaml: ": a\n", herald: "reads it", why: "a mapping entry without a key" },
  { yaml: "v: a\u2028b\n", herald: "reads it", why: "U+2028 inside a plain scalar is text, not a line break" },
  { yaml: "v:\t12\n", herald: "reads it", why: "a tab between tokens" },
  { yaml: "v: 12\t\n", herald: "reads it", why: "a tab between tokens" },
  { yaml: "v: a\tb\n", herald: "reads it", why: "a tab between tokens" },
  // PyYAML reads these; Herald refuses them, with the yaml package's message.
  { yaml: "v: [-]\n", herald: "refuses it", why: "a lone '-' in a flow list is read as a block list's dash" },
  {
    yaml: 'v: "a\u0085b"\n',
    herald: "refuses it",
    why: "after NEL (a line break in YAML 1.1) the string continues at column 0, less indented than its key",
  },
  ...[
    'v: "a\nb"\n',
    "v: 'a\nb'\n",
    "v: [a,\nb]\n",
    "http:\n  bind_addresses: ['127.0.0.1',\n  '::1']\n",
    'http:\n  proxy: "http://proxy.example.org\n  :8080"\n',
  ].map((yaml) => ({
    yaml,
    herald: "refuses it",
    why: "a quoted string or a flow collection continued on a line not indented more than its key",
  })),
  // Both read these, differently.
  { yaml: 'v: "a\u2028  b"\n', herald: { v: "a\u2028  b" }, why: "spaces around a U+2028 inside quotes are kept" },
  {
    yaml: 'v: "a\\\n\n  b"\n',
    herald: { v: "a b" },
    why: "an escaped line break followed by an empty line folds to a space, not a line feed",
  },
];

describe("Herald reads YAML as PyYAML's safe_load does", () => {
  test(`the table holds every row it was written with (PyYAML ${table.pyyaml})`, () => {
    assert.equal(table.rows.length, 1783);
    assert.equal(table.rows.filter((r) => "error" in r).length, 121);
  });

  const differences = new Map(DIFFERENCES.map((d) => [d.yaml, d]));

  test("every document PyYAML reads gives the same data", () => {
    const mismatches: string[] = [];
    for (const row of table.rows) {
      if (!("data" in row) || differences.has(row.yaml)) continue;
      const expected = heraldForm(row.data);
      const got = herald(row.yaml);
      if (containsRefused(expected)) {
        if (!("error" in got)) mismatches.push(`${JSON.stringify(row.yaml)}: read, though its tag is refused`);
        continue;
      }
      try {
        assert.ok("data" in got, "error" in got ? got.error : "");
        assert.deepStrictEqual(got.data, expected);
      } catch (error) {
        mismatches.push(`${JSON.stringify(row.yaml)}: ${(error as Error).message.split("\n").slice(0, 6).join(" ")}`);
      }
    }
    assert.deepEqual(mismatches, []);
  });

  test("every document PyYAML refuses, Herald refuses too", () => {
    const read = table.rows
      .filter((row) => "error" in row && !differences.has(row.yaml))
      .filter((row) => "data" in herald(row.yaml))
      .map((row) => `${JSON.stringify(row.yaml)} (PyYAML: ${row.error})`);
    assert.deepEqual(read, []);
  });

  test("the differences listed are in the table, and still differ as described", () => {
    for (const difference of DIFFERENCES) {
      const row = table.rows.find((r) => r.yaml === difference.yaml);
      assert.ok(row, `${JSON.stringify(difference.yaml)} is not in the table`);
      const got = herald(difference.yaml);
      if (difference.herald === "reads it") {
        assert.ok("error" in row && "data" in got, JSON.stringify(difference));
      } else if (difference.herald === "refuses it") {
        assert.ok("data" in row && "error" in got, JSON.stringify(difference));
      } else {
        assert.ok("data" in row && "data" in got, JSON.stringify(difference));
        assert.deepStrictEqual(got.data, difference.herald);
        assert.notDeepStrictEqual(heraldForm(row.data), difference.herald);
      }
    }
  });
});

describe("what Herald's form of the data adds", () => {
  test("a key such as __proto__ is data, never the object's prototype", () => {
    const data = readYaml("__proto__:\n  polluted: yes\n") as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(data), Object.prototype);
    assert.deepEqual(Object.keys(data), ["__proto__"]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
  test("an alias is read once, however often it is used (no blow-up from nested aliases)", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 12; i++)
      levels.push(
        `${"abcdefghijkl"[i]}: &${"abcdefghijkl"[i]} [${Array(10)
          .fill(`*${"abcdefghijkl"[i - 1]}`)
          .join(", ")}]`,
      );
    const data = readYaml(`${levels.join("\n")}\n`) as Record<string, unknown[]>;
    assert.equal(data.l![0], data.l![1], "the same list, not a copy");
  });
  test("an alias inside its own anchor is refused, naming the line", () => {
    assert.throws(
      () => readYaml("ok: 1\na: &a [*a]\n"),
      /^YamlError: YAML: line 2: an alias refers to the collection it is in/,
    );
    assert.throws(
      () => readYaml("a: &a {<<: *a}\n"),
      /^YamlError: YAML: line 1: a merge key \(<<\) merges the mapping it is in/,
    );
  });
  test("values PyYAML cannot build are refused, naming the line and what to do", () => {
    assert.throws(
      () => readYaml("a: 1\nb: 2001-02-30\n"),
      /^YamlError: YAML: line 2: '2001-02-30' is read as a date \(YAML 1\.1\), but the day is not in that month: quote it to keep it a string$/,
    );
    assert.throws(
      () => readYaml("v: !!set {a, b}\n"),
      /YAML: line 1: !!set values are not supported: no Herald key takes one/,
    );
    assert.throws(() => readYaml("v: !secret x\n"), /YAML: line 1: the tag !secret is not supported: remove it/);
    assert.throws(() => readYaml("a: &x 1\nb: &x 2\n"), /YAML: line 2: the anchor &x is defined twice: rename one/);
    assert.throws(
      () => readYaml("v: <<\n"),
      /YAML: line 1: '<<' is a YAML 1\.1 key, not a value: quote it, as in '<<'/,
    );
  });
  test("an alias without its anchor says that a value starting with '*' must be quoted", () => {
    assert.throws(
      () => readYaml("identity: *3MAPUSH\n"),
      /YAML: line 1: the alias \*3MAPUSH has no anchor &3MAPUSH before it \(a value that starts with '\*' is read as an alias: quote it, as in identity: "\*3MAPUSH"\)/,
    );
  });
  test("a syntax error is the parser's message, with the line", () => {
    assert.throws(
      () => readYaml("apps: {a: [\n"),
      (e: unknown) => e instanceof YamlError && /^YAML syntax: .* at line \d+, column \d+/.test(e.problems[0]!),
    );
  });
});

describe("writeYaml: what Herald writes, PyYAML and Herald read back as written", () => {
  test("every string of the table's scalars, as a value and as a key", () => {
    const strings = new Set<string>();
    for (const row of table.rows) {
      const match = /^v: (.*)\n$/.exec(row.yaml);
      if (match && !match[1]!.startsWith("[") && !/^['"]/.test(match[1]!)) strings.add(match[1]!);
    }
    assert.ok(strings.size > 300, `${strings.size} strings`);
    const misread = [...strings].filter((s) => {
      const back = readYaml(writeYaml({ [s]: s, list: [s] })) as Record<string, unknown>;
      return back[s] !== s || (back.list as unknown[])[0] !== s;
    });
    assert.deepEqual(misread, []);
  });
  test("a string PyYAML would read as something else is quoted; others are not", () => {
    assert.equal(
      writeYaml({ a: "yes", b: "1:20", c: "0b1", d: "2001-12-14", e: "y", f: "0123456789", g: "1e5" }),
      'a: "yes"\nb: "1:20"\nc: "0b1"\nd: "2001-12-14"\ne: y\nf: "0123456789"\ng: "1e5"\n',
    );
  });
});
