#!/usr/bin/env node
// Runs every compiled test file under dist/test with node's test runner.
// A script rather than a shell glob: Node 20 does not expand globs given to --test, Node 22+ does,
// and sh has no recursive glob; listing the files here behaves the same on every supported Node.
// Arguments filter the files by substring: `npm test -- dispatch` runs only dist/test/**/*dispatch*.test.js.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

function findTests(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return findTests(path);
    return entry.name.endsWith(".test.js") ? [path] : [];
  });
}

const filters = process.argv.slice(2);
const files = findTests("dist/test")
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
  .sort();
if (files.length === 0) {
  console.error("no test files matched");
  process.exit(1);
}
const result = spawnSync(process.execPath, ["--test", "--test-concurrency=2", ...files], { stdio: "inherit" });
process.exit(result.status ?? 1);
