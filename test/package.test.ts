/**
 * Herald as npm ships it: `herald --version`, the files the package holds (what the command and the example config
 * need, nothing of the tests), and run-time imports that only production dependencies satisfy.
 * `scripts/check-package.sh` goes further: it packs, installs the tarball into an empty prefix and runs the command.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative } from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import { parse } from "yaml";
import { sqliteDriverName } from "../src/store/sqlite/driver.js";
import { repoRoot } from "./helpers/paths.js";
import { runHerald } from "./helpers/processes.js";
import { tempDir } from "./helpers/tempDir.js";

interface Manifest {
  version: string;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  optionalDependencies: Record<string, string>;
}

const manifest = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as Manifest;
/** npm's TMPDIR: npm 11 on Node 22 and later keeps its module compile cache there. */
const npmTmp = tempDir(after, "herald-npm-");

/** The files `npm pack` would put in the tarball, from the dist/ the test run built (no prepack build here). */
let packed: Promise<string[]> | undefined;
function packedFiles(): Promise<string[]> {
  packed ??= listPackedFiles();
  return packed;
}

async function listPackedFiles(): Promise<string[]> {
  const { stdout } = await promisify(execFile)("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: repoRoot,
    env: { ...process.env, TMPDIR: npmTmp },
    maxBuffer: 16 * 1024 * 1024,
  });
  const [pack] = JSON.parse(stdout) as { files: { path: string }[] }[];
  return pack!.files.map((file) => file.path);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/** The module specifiers a compiled file imports by name: `from "x"`, `import "x"` and `import("x")`. */
function importedSpecifiers(source: string): string[] {
  const patterns = [/(?:^|[\s}])from\s*"([^"]+)"/gm, /^\s*import\s*"([^"]+)"/gm, /\bimport\s*\(\s*"([^"]+)"\s*\)/g];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((m) => m[1]!));
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

describe("the herald package", () => {
  test("herald --version prints the version of its package.json", async () => {
    const run = await runHerald(["--version"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `${manifest.version}\n`);
  });

  test("ships the command, the schemas, the example config with its pushkin module, and the licence", async () => {
    const files = await packedFiles();
    for (const needed of [
      "package.json",
      "README.md",
      "LICENSE",
      manifest.bin.herald!,
      "dist/src/sandbox/index.js",
      "schemas/config.schema.json",
      "sygnal.example.yaml",
    ]) {
      assert.ok(files.includes(needed), `the package holds ${needed}`);
    }
    // Every module the shipped example config names as an app's type is shipped beside it.
    const example = parse(readFileSync(join(repoRoot, "sygnal.example.yaml"), "utf8")) as {
      apps: Record<string, { type: string }>;
    };
    const modules = Object.values(example.apps)
      .map((app) => app.type)
      .filter((type) => type.startsWith("."));
    assert.ok(modules.length > 0, "the example config names a module");
    for (const module of modules) assert.ok(files.includes(join(module)), `the package holds ${module}`);
  });

  test("ships nothing of the tests, the benchmark or the TypeScript sources, and no source maps", async () => {
    const files = await packedFiles();
    const unwanted = files.filter(
      (file) => /^(dist\/(test|bench)|test|bench|src|scripts)\//.test(file) || file.endsWith(".map"),
    );
    assert.deepEqual(unwanted, []);
  });

  test("what dist/src imports at run time is Node's own or a production dependency", () => {
    const production = new Set([...Object.keys(manifest.dependencies), ...Object.keys(manifest.optionalDependencies)]);
    const sources = filesUnder(join(repoRoot, "dist", "src")).filter((file) => file.endsWith(".js"));
    assert.ok(sources.length > 50, "dist/src is built");
    const strays: string[] = [];
    for (const file of sources) {
      for (const specifier of importedSpecifiers(readFileSync(file, "utf8"))) {
        if (specifier.startsWith(".") || specifier.startsWith("node:") || builtinModules.includes(specifier)) continue;
        if (!production.has(packageOf(specifier))) strays.push(`${relative(repoRoot, file)}: ${specifier}`);
      }
    }
    assert.deepEqual(strays, []);
  });

  test("the SQLite driver loaded on each Node is an optional dependency of the package", () => {
    for (const node of ["20.18.0", "22.12.0", "24.21.0"]) {
      const name = sqliteDriverName(node);
      assert.ok(name in manifest.optionalDependencies, `Node ${node} loads ${name}`);
    }
    assert.notEqual(sqliteDriverName("20.18.0"), sqliteDriverName("22.12.0"));
  });
});
