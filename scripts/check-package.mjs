#!/usr/bin/env node
/**
 * Herald as a newcomer gets it from npm, checked on the Node and npm on PATH:
 *
 * 1. `npm pack`, after removing dist/, so that only the package's own `prepack` can build what it ships; the tarball's
 *    files are listed by folder, with its size, and must hold the command and nothing of the tests;
 * 2. `npm install --prefix <empty dir> <tarball>`, which must print no warning but npm's notice that better-sqlite3
 *    has an install script for the installing project to approve (the README's Install section says why);
 * 3. the installed command: `herald --version` (the package's version), `herald --help`, `npx herald --version`,
 *    `herald check-config` on the shipped sygnal.example.yaml (exit 0), and `herald demo`, which must show its pushes,
 *    WalletConnect's included (its registry is SQLite: the right better-sqlite3 for this Node must load), and stop
 *    with exit code 0 on SIGINT.
 *
 * Everything is made in one temporary directory (TMPDIR too), removed with the demo's processes whatever happens,
 * Ctrl-C included. Exit code 0 when every check passed, 1 otherwise.
 */
import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("..", import.meta.url));
const manifest = JSON.parse(readFileSync(join(repo, "package.json"), "utf8"));
const work = mkdtempSync(join(tmpdir(), "herald-package-"));
const prefix = join(work, "prefix");
const scratch = join(work, "tmp");
/** The demo's own TMPDIR, to see that it leaves nothing behind (npm keeps caches in the other one). */
const demoScratch = join(work, "demo-tmp");
mkdirSync(scratch);
mkdirSync(demoScratch);
/** What the commands run with: their temporary files in `work`, and no config from the caller's environment. */
const env = { ...process.env, TMPDIR: scratch, SYGNAL_CONF: "" };
let demo;

function cleanUp() {
  if (demo?.exitCode === null && demo.signalCode === null) {
    try {
      process.kill(-demo.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  rmSync(work, { recursive: true, force: true });
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    cleanUp();
    process.exit(1);
  });
}

/** Runs a command to its end; resolves with its exit code and output, which it fails with when the code is not 0. */
function run(file, args, { cwd = work, timeoutMs = 15 * 60_000, check = true } = {}) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const result = { code: error ? (error.code ?? 1) : 0, stdout, stderr };
      if (check && error) reject(new Error(`${file} ${args.join(" ")} failed (${result.code}):\n${stdout}${stderr}`));
      else resolve(result);
    });
  });
}

function expect(condition, what, output = "") {
  if (!condition) throw new Error(`${what}${output ? `\n--- output:\n${output}` : ""}`);
}

/**
 * The lines of npm's output that warn (`npm warn …`), each something a newcomer would have to look up; except npm's
 * notice that better-sqlite3's install script is not yet approved by the installing project (`allowScripts`), which
 * the README's Install section explains: it compiles the SQLite driver for Node 20.
 */
function warnings(output) {
  const lines = output.split("\n").filter((line) => /^npm (warn|WARN)\b/.test(line));
  const scripts = lines.filter((line) => /^npm warn install-scripts\b/.test(line));
  const packages = scripts.flatMap((line) => line.match(/^npm warn install-scripts\s+(\S+)@\d\S* \(/)?.[1] ?? []);
  const onlySqlite = packages.length > 0 && packages.every((name) => name === "better-sqlite3");
  return onlySqlite ? lines.filter((line) => !scripts.includes(line)) : lines;
}

async function pack() {
  rmSync(join(repo, "dist"), { recursive: true, force: true });
  const packed = await run("npm", ["pack", "--pack-destination", work], { cwd: repo });
  const tarball = join(work, packed.stdout.trim().split("\n").at(-1));
  const listing = await run("tar", ["-tzf", tarball]);
  const files = listing.stdout
    .trim()
    .split("\n")
    .map((path) => path.replace(/^package\//, ""));
  const byFolder = new Map();
  for (const file of files) {
    const folder = file.startsWith("dist/src/") ? file.split("/").slice(0, 3).join("/") : file.split("/")[0];
    byFolder.set(folder, (byFolder.get(folder) ?? 0) + 1);
  }
  console.log(`${tarball.split("/").at(-1)}: ${statSync(tarball).size} bytes, ${files.length} files`);
  for (const [folder, count] of byFolder) console.log(`  ${folder}${count > 1 ? ` (${count} files)` : ""}`);
  for (const needed of [
    "package.json",
    "LICENSE",
    "README.md",
    manifest.bin.herald,
    "sygnal.example.yaml",
    "examples/log-pushkin.js",
    "schemas/config.schema.json",
  ]) {
    expect(files.includes(needed), `the tarball lacks ${needed}`);
  }
  const unwanted = files.filter((file) => /^(dist\/(test|bench)|test|bench|src)\//.test(file) || file.endsWith(".map"));
  expect(unwanted.length === 0, `the tarball holds files of the tests or the sources: ${unwanted.join(", ")}`);
  return tarball;
}

async function install(tarball) {
  const started = Date.now();
  const installed = await run("npm", ["install", "--prefix", prefix, "--no-audit", "--no-fund", tarball]);
  const output = installed.stdout + installed.stderr;
  console.log(
    `npm install --prefix <empty dir> ${tarball.split("/").at(-1)}: ${Math.round((Date.now() - started) / 1000)} s`,
  );
  console.log(output.replace(/^/gm, "  ").trimEnd());
  const warned = warnings(output);
  expect(warned.length === 0, `npm install printed warnings:\n${warned.join("\n")}`);
  const drivers = readdirSync(join(prefix, "node_modules")).filter((name) => name.startsWith("better-sqlite3"));
  console.log(`  installed SQLite drivers: ${drivers.join(", ")}`);
}

async function commands() {
  const herald = join(prefix, "node_modules", ".bin", "herald");
  const show = (what, text) => console.log(`${what}\n${text.replace(/^/gm, "  ").trimEnd()}`);

  const version = await run(herald, ["--version"]);
  show("$ herald --version", version.stdout);
  expect(version.stdout === `${manifest.version}\n`, `herald --version did not print ${manifest.version}`);

  const help = await run(herald, ["--help"]);
  show("$ herald --help", help.stdout.split("\n").slice(0, 3).join("\n") + "\n…");
  expect(
    /^usage: herald <command>/.test(help.stdout) && /check-config/.test(help.stdout),
    "herald --help",
    help.stdout,
  );

  const npx = await run("npx", ["--no-install", "herald", "--version"], { cwd: prefix });
  show("$ npx herald --version (in the prefix)", npx.stdout);
  expect(npx.stdout === `${manifest.version}\n`, "npx herald --version", npx.stdout + npx.stderr);

  const example = join(prefix, "node_modules", "herald", "sygnal.example.yaml");
  const check = await run(herald, ["check-config", "--config", example], { check: false });
  show("$ herald check-config --config <prefix>/node_modules/herald/sygnal.example.yaml", check.stdout + check.stderr);
  expect(check.code === 0 && /configuration OK, 1 app\(s\)/.test(check.stdout), "check-config", check.stderr);

  await runDemo(herald);
}

/** `herald demo` until it has shown its pushes, then SIGINT, as Ctrl-C sends it. */
async function runDemo(herald) {
  demo = spawn(herald, ["demo", "--port", "0"], { cwd: work, env: { ...env, TMPDIR: demoScratch }, detached: true });
  let output = "";
  demo.stdout.on("data", (chunk) => (output += chunk));
  demo.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise((resolve) => demo.on("close", (code, signal) => resolve(code ?? signal)));
  const ready = await Promise.race([
    new Promise((resolve) => {
      const onData = () => /Ctrl-C stops the demo/.test(output) && resolve(true);
      demo.stdout.on("data", onData);
      demo.stderr.on("data", onData);
    }),
    exited.then(() => false),
    new Promise((resolve) => setTimeout(resolve, 120_000, false).unref()),
  ]);
  expect(ready, "herald demo did not get to 'Ctrl-C stops the demo'", output);
  for (const shown of [
    /sandbox APNs received a push for device c0ffee00dead…/,
    /sandbox FCM received a push/,
    /sandbox WebPush decrypted a message/,
    /sandbox HMS received a push/,
    /sandbox Threema Gateway decrypted a message/,
    /Herald answered 200 \{"rejected": \[\]\}/,
    /Herald answered 204 to type=fcm/,
    /Herald answered 202 to the relay's POST \/clients\//,
  ]) {
    expect(shown.test(output), `herald demo did not show ${shown}`, output);
  }
  console.log(`$ herald demo --port 0\n${output.replace(/^/gm, "  ").split("\n").slice(0, 12).join("\n")}\n  …`);
  demo.kill("SIGINT");
  const code = await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 30_000, "hung").unref())]);
  console.log(`  (SIGINT) exit code ${code}`);
  expect(code === 0, `herald demo answered SIGINT with ${code}, not exit code 0`, output);
  const left = readdirSync(demoScratch);
  expect(left.length === 0, `herald demo left files behind: ${left.join(", ")}`);
}

let failed = false;
try {
  console.log(`== Herald's package on Node ${process.version}, npm ${(await run("npm", ["--version"])).stdout.trim()}`);
  const tarball = await pack();
  await install(tarball);
  await commands();
  console.log("== the installed package works");
} catch (error) {
  console.error(`check-package: ${error.message}`);
  failed = true;
} finally {
  cleanUp();
}
process.exitCode = failed ? 1 : 0;
