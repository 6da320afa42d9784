#!/usr/bin/env node
// Runs every compiled test file under dist/test with node's test runner, then says what the run did and what it
// left behind.
//
//   npm test                       the whole suite
//   npm test -- dispatch cli       only dist/test/**/*dispatch*.test.js and *cli*
//   npm test -- --coverage         and a coverage summary (c8), the least covered files, test-results/coverage/
//
// Output: a dot per test, then the failures in full, then the totals, the skipped tests with why, and the failures
// once more with their files. The whole TAP stays in test-results/tests.tap.
//
// Each test has a deadline, so a hung test fails instead of hanging the run; a file whose tests are done exits even if
// a handle is still open (scripts/test-file-exit.mjs). The run gets a temporary directory of its own (TMPDIR) and marks its processes (an
// environment variable): a directory or a process still there at the end is listed, removed, and fails the run.
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { spawnSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";

const RESULTS = "test-results";
const TAP = join(RESULTS, "tests.tap");
// Node 20 applies --test-timeout to each test file as a whole (the longest takes ~25 s alone); Node 22 and later to
// each test.
const NODE_MAJOR = Number(process.versions.node.split(".")[0]);
const TIMEOUT_MS = NODE_MAJOR >= 22 ? 60_000 : 180_000;

function findTests(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return findTests(path);
    return entry.name.endsWith(".test.js") ? [path] : [];
  });
}

const args = process.argv.slice(2);
const coverage = args.includes("--coverage");
const filters = args.filter((arg) => arg !== "--coverage");
const files = findTests("dist/test")
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
  .sort();
if (files.length === 0) {
  console.error("no test files matched");
  process.exit(1);
}

rmSync(RESULTS, { recursive: true, force: true });
mkdirSync(RESULTS, { recursive: true });
const runId = randomUUID();
const runTmp = mkdtempSync(join(tmpdir(), "herald-test-run-"));
const coverageTmp = coverage ? mkdtempSync(join(tmpdir(), "herald-coverage-")) : undefined;

// Files the tests write are private to their owner, as on most machines: a umask that lets a group write them would
// add Herald's file-permission warnings to the output tests compare.
process.umask(0o022);
const result = spawnSync(
  process.execPath,
  [
    "--test",
    "--test-concurrency=2",
    `--test-timeout=${TIMEOUT_MS}`,
    "--import=./scripts/test-file-exit.mjs",
    "--test-reporter=dot",
    "--test-reporter-destination=stdout",
    "--test-reporter=tap",
    `--test-reporter-destination=${TAP}`,
    ...files,
  ],
  {
    stdio: "inherit",
    env: {
      ...process.env,
      HERALD_TEST_RUN: runId,
      TMPDIR: runTmp,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --enable-source-maps`.trim(),
      ...(coverageTmp ? { NODE_V8_COVERAGE: coverageTmp } : {}),
    },
  },
);

const summary = summarise(readFileSync(TAP, "utf8"));
let failed = result.status !== 0;
printSummary(summary);
if (await leftProcesses()) failed = true;
if (leftFiles()) failed = true;
if (coverageTmp) reportCoverage(coverageTmp);
if (failed && result.status === 0) console.log("\nThe tests passed, but the run left the above behind: it fails.");
process.exit(failed ? 1 : 0);

/** Totals, skipped tests with their reasons, and failed tests with their files, from the run's TAP. */
function summarise(tap) {
  const totals = {};
  const skips = new Map();
  const failures = [];
  const stack = []; // the names of the enclosing subtests, by depth
  const lines = tap.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const total = line.match(/^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) (\S+)$/);
    if (total) totals[total[1]] = total[2];
    const subtest = line.match(/^( *)# Subtest: (.*)$/);
    if (subtest) {
      const depth = subtest[1].length / 4;
      stack.length = depth;
      stack[depth] = subtest[2];
      continue;
    }
    const outcome = line.match(/^( *)(ok|not ok) \d+ - (.*?)(?: # (SKIP|TODO)(?: (.*))?)?$/);
    if (!outcome) continue;
    const depth = outcome[1].length / 4;
    const name = [...stack.slice(0, depth), outcome[3]].join(" > ");
    const yaml = [];
    for (let j = i + 1; j < lines.length && lines[j].startsWith(`${outcome[1]}  `); j++) yaml.push(lines[j]);
    const isSuite = yaml.some((l) => l.trim() === "type: 'suite'");
    if (outcome[4] === "SKIP" && !isSuite) {
      const why = outcome[5] ?? "no reason given";
      skips.set(why, (skips.get(why) ?? 0) + 1);
    }
    if (outcome[2] === "not ok" && !isSuite && !outcome[4]) {
      const location = yaml.map((l) => l.match(/location: '(.*?)(?::\d+){2}'/)?.[1]).find(Boolean);
      failures.push({ name, where: location ? sourceOf(location) : undefined });
    }
  }
  return { totals, skips, failures };
}

/** dist/test/x.test.js → test/x.test.ts, the file to open. */
function sourceOf(location) {
  const path = relative(process.cwd(), location.replace(/^file:\/\//, ""));
  return path.replace(/^dist\//, "").replace(/\.js$/, ".ts");
}

function printSummary({ totals, skips, failures }) {
  const seconds = (Number(totals.duration_ms ?? 0) / 1000).toFixed(0);
  console.log(
    `\n${totals.tests ?? "?"} tests: ${totals.pass ?? 0} passed, ${totals.fail ?? 0} failed, ` +
      `${totals.cancelled ?? 0} cancelled, ${totals.skipped ?? 0} skipped (${seconds} s; TAP in ${TAP})`,
  );
  for (const [why, count] of skips) console.log(`  skipped ${count}: ${why}`);
  if (failures.length > 0) {
    console.log(`\nFailed (${failures.length}):`);
    for (const { name, where } of failures) console.log(`  ✖ ${name}${where ? `  (${where})` : ""}`);
  }
}

/** Processes of this run still alive: found by the variable they inherited, killed, listed. Linux only. */
async function leftProcesses() {
  const find = () => {
    let pids;
    try {
      pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
    } catch {
      return []; // no /proc: not Linux, nothing to check with
    }
    return pids.filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, "latin1").includes(`HERALD_TEST_RUN=${runId}`);
      } catch {
        return false; // gone, or not ours to read
      }
    });
  };
  let left = find();
  if (left.length > 0) {
    await sleep(1000); // killed with their test file, a moment ago
    left = find();
  }
  if (left.length === 0) return false;
  console.log(`\nProcesses left running by the tests (${left.length}), now killed:`);
  for (const pid of left) {
    let command = "";
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, "latin1").replaceAll("\0", " ").trim();
      process.kill(Number(pid), "SIGKILL");
    } catch {
      // exited meanwhile
    }
    console.log(`  ${pid} ${command}`);
  }
  return true;
}

/** Files the tests left in the run's temporary directory: listed, then removed with it. */
function leftFiles() {
  const left = readdirSync(runTmp);
  rmSync(runTmp, { recursive: true, force: true });
  if (left.length === 0) return false;
  console.log(`\nLeft in the temporary directory by the tests (${left.length}), now removed:`);
  for (const name of left) console.log(`  ${name}`);
  return true;
}

/** c8's summary of the V8 coverage every process of the run wrote, and the ten least covered source files. */
function reportCoverage(dir) {
  const reportDir = join(RESULTS, "coverage");
  const c8 = spawnSync(
    process.execPath,
    [
      "node_modules/c8/bin/c8.js",
      "report",
      `--temp-directory=${dir}`,
      `--report-dir=${reportDir}`,
      "--reporter=text-summary",
      "--reporter=json-summary",
      "--reporter=text",
      "--include=dist/src/**",
    ],
    { encoding: "utf8" },
  );
  rmSync(dir, { recursive: true, force: true });
  if (c8.status !== 0) {
    console.log(`\nCoverage: c8 failed:\n${c8.stderr}`);
    return;
  }
  // The per-file table goes to a file; the summary and the weakest files to the terminal.
  const table = c8.stdout.slice(c8.stdout.indexOf("-----"));
  writeFileSync(join(reportDir, "coverage.txt"), table);
  console.log(`\n${c8.stdout.slice(0, c8.stdout.indexOf("-----")).trim()}`);
  const files = JSON.parse(readFileSync(join(reportDir, "coverage-summary.json"), "utf8"));
  const weakest = Object.entries(files)
    .filter(([file]) => file !== "total")
    .map(([file, { lines, branches }]) => ({ file: relative(process.cwd(), file), lines, branches }))
    .sort((a, b) => a.lines.pct - b.lines.pct)
    .slice(0, 10);
  console.log("Least covered source files (lines, branches):");
  for (const { file, lines, branches } of weakest)
    console.log(`  ${String(lines.pct).padStart(6)}% ${String(branches.pct).padStart(6)}%  ${file}`);
  console.log(`Every file: ${join(reportDir, "coverage.txt")}`);
}
