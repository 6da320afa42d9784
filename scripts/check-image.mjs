#!/usr/bin/env node
/**
 * Herald's container image, built from the Containerfile and run as an operator runs it, with podman
 * (docs/deployment.md#the-container-image). CI runs it once, on Node 24 (.ci/run): under Node 22 or later the image
 * holds that Node and better-sqlite3 13, and nothing is compiled; under Node 20 its build compiles better-sqlite3 12.
 *
 * 1. The tools: podman, runc and debootstrap, installed from Debian's packages when missing. Where they cannot be (not
 *    root, or no apt-get), it prints "check-image: skipped: no podman" with the reason and exits 0.
 * 2. A local base image, since no container registry is reachable here: Debian (debootstrap's minbase, from the
 *    mirror apt uses) with the Node that runs this script, its headers (on Node 20, to compile better-sqlite3, whose
 *    prebuilt binaries cannot be downloaded here) and npm, and the CA bundle that NODE_EXTRA_CA_CERTS (else npm's
 *    cafile) names, for npm inside the build. It is kept between runs as localhost/herald-ci-base:<key>, the key a
 *    hash of everything that went into it: a later run on the same machine reuses it, a change of Node, npm, CA bundle
 *    or recipe makes a new one (and removes the old).
 * 3. `podman build` of the Containerfile with that base as BASE.
 * 4. The image run with its default command (`serve`) and SYGNAL_CONF, hardened as the docs' examples are (a
 *    read-only root, no capabilities, no new privileges): a config directory mounted read-only at /etc/herald, with
 *    the key files of sandbox providers started here on the host, readable by the image's user through its group; a
 *    named volume on /data for the WalletConnect registry. Checked: `--version` and the version label; /health answers
 *    200 and the image's HEALTHCHECK says healthy; PID 1 is Herald, not root; a /notify reaches all five sandbox
 *    providers; a wallet registers (SQLite in /data); the metrics port answers; then `podman stop` while a push is in
 *    flight: the push is answered 200 and Herald exits 0 within shutdown_timeout.
 *
 * Podman gets a containers.conf of its own (cgroupfs and runc: crun refuses this machine's hybrid cgroups; no default
 * ulimits) and the host's network. Everything this made (container, volume, image, temporary directories) is removed
 * whatever happens, Ctrl-C included; only the base stays, for the next run. Exit code 0 when every check passed.
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("..", import.meta.url));
const manifest = JSON.parse(readFileSync(join(repo, "package.json"), "utf8"));
/** Changed whenever the base's recipe below changes, so that a base made by the old recipe is not reused. */
const BASE_RECIPE = 1;
const BASE_REPOSITORY = "localhost/herald-ci-base";
/** The image's user and group (Containerfile). */
const IMAGE_UID = 10001;
const SHUTDOWN_TIMEOUT_S = 10;
/** How long the sandbox APNs holds the push that is in flight when `podman stop` comes. */
const IN_FLIGHT_MS = 3000;
const SLOW_TOKEN = "5104000000000000000000000000000000000000000000000000000000005104";
/** A build that takes longer has hung (on two idle cores, half a minute on Node 24, 2 minutes on Node 20). */
const BUILD_TIMEOUT_MS = 20 * 60_000;

const startedAt = Date.now();
const id = randomBytes(4).toString("hex");
const names = { image: `localhost/herald-ci:${id}`, container: `herald-ci-${id}`, volume: `herald-ci-data-${id}` };
let work;
let env;
let sandbox;
let build;

const elapsed = () => `${Math.round((Date.now() - startedAt) / 1000)}s`;
const step = (what) => console.log(`[${elapsed().padStart(4)}] ${what}`);

/** Runs a command to its end; resolves with its output, and fails with it when the exit code is not 0. */
function run(file, args, { timeoutMs = 5 * 60_000, check = true } = {}) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const result = { code: error ? (error.code ?? 1) : 0, stdout, stderr };
      if (check && error) reject(new Error(`${file} ${args.join(" ")} failed (${result.code}):\n${stdout}${stderr}`));
      else resolve(result);
    });
  });
}

const podman = (args, options) => run("podman", args, options);

function expect(condition, what, output = "") {
  if (!condition) throw new Error(`${what}${output ? `\n--- output:\n${output}` : ""}`);
}

function commandExists(name) {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Installs what is missing; returns why the check cannot run, or undefined when it can. */
async function tools() {
  const missing = ["podman", "runc", "debootstrap"].filter((tool) => !commandExists(tool));
  if (missing.length === 0) return undefined;
  if (process.getuid?.() !== 0) return `${missing.join(", ")} missing, and only root can install them`;
  if (!commandExists("apt-get")) return `${missing.join(", ")} missing, and there is no apt-get to install them`;
  step(`installing ${missing.join(", ")} from Debian's packages`);
  await run("apt-get", ["update", "-qq"]);
  await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "podman", "runc", "debootstrap"], {
    timeoutMs: 10 * 60_000,
  });
  return undefined;
}

/** The release this machine runs and the mirror its apt uses for it, for debootstrap. */
function debianSource() {
  const codename = readFileSync("/etc/os-release", "utf8").match(/^VERSION_CODENAME=(\S+)$/m)?.[1];
  expect(codename, "no VERSION_CODENAME in /etc/os-release: the local base is made with debootstrap, for Debian");
  const listDir = "/etc/apt/sources.list.d";
  const files = [
    "/etc/apt/sources.list",
    ...(existsSync(listDir) ? readdirSync(listDir) : []).map((f) => join(listDir, f)),
  ];
  for (const file of files.filter((path) => existsSync(path))) {
    const text = readFileSync(file, "utf8");
    if (file.endsWith(".sources")) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (name) =>
          stanza
            .match(new RegExp(`^${name}:\\s*(.+)$`, "mi"))?.[1]
            .trim()
            .split(/\s+/) ?? [];
        if (field("Types").includes("deb") && field("Suites").includes(codename))
          return { codename, mirror: field("URIs")[0] };
      }
    } else {
      const line = text.match(new RegExp(`^deb\\s+(?:\\[[^\\]]*\\]\\s+)?(\\S+)\\s+${codename}\\s`, "m"));
      if (line) return { codename, mirror: line[1] };
    }
  }
  throw new Error(`apt has no source for ${codename}: debootstrap needs its mirror`);
}

/** The CA bundle this machine's Node and npm trust (NODE_EXTRA_CA_CERTS, else npm's cafile), for npm in the build. */
async function trustedCas() {
  if (process.env.NODE_EXTRA_CA_CERTS) return process.env.NODE_EXTRA_CA_CERTS;
  const cafile = (await run("npm", ["config", "get", "cafile"])).stdout.trim();
  return cafile && cafile !== "null" && cafile !== "undefined" ? cafile : undefined;
}

/** The local base: made once per machine and recipe, then reused. */
async function localBase() {
  // Node 20's driver is compiled in the build, against these; from Node 22 on, nothing is compiled.
  const nodeHeaders = join(dirname(dirname(process.execPath)), "include", "node");
  const haveHeaders = existsSync(join(nodeHeaders, "node_api.h")) && existsSync(join(nodeHeaders, "common.gypi"));
  expect(
    haveHeaders || Number(process.versions.node.split(".")[0]) >= 22,
    `Node's headers are not in ${nodeHeaders}: on Node 20 the image's build compiles better-sqlite3 against them`,
  );
  // The npm on PATH (its bin/npm-cli.js), wherever the Node beside it came from.
  const npmDir = dirname(dirname(realpathSync((await run("sh", ["-c", "command -v npm"])).stdout.trim())));
  const npmVersion = JSON.parse(readFileSync(join(npmDir, "package.json"), "utf8")).version;
  const caBundle = await trustedCas();
  const { codename, mirror } = debianSource();
  const recipe = {
    recipe: BASE_RECIPE,
    node: process.version,
    npm: npmVersion,
    codename,
    mirror,
    ca: caBundle ? readFileSync(caBundle, "utf8") : "",
  };
  const tag = `${BASE_REPOSITORY}:${createHash("sha256").update(JSON.stringify(recipe)).digest("hex").slice(0, 16)}`;
  const about = `Debian ${codename}, Node ${process.version}, npm ${npmVersion}`;
  if ((await podman(["image", "exists", tag], { check: false })).code === 0) {
    step(`local base ${tag} (${about}): made by an earlier run, reused`);
    return tag;
  }

  const stale = (
    await podman(["images", "--filter", `reference=${BASE_REPOSITORY}`, "--format", "{{.Repository}}:{{.Tag}}"])
  ).stdout;
  for (const old of stale.split("\n").filter(Boolean)) await podman(["rmi", old], { check: false });
  step(`making the local base ${tag}: debootstrap --variant=minbase ${codename} ${mirror}`);
  const root = join(work, "base");
  await run("debootstrap", ["--variant=minbase", codename, root, mirror], { timeoutMs: 10 * 60_000 });
  step(`adding ${about}${caBundle ? `, and the CA bundle ${caBundle}` : ""}`);
  const local = join(root, "usr", "local");
  mkdirSync(join(local, "include"), { recursive: true });
  mkdirSync(join(local, "lib", "node_modules"), { recursive: true });
  await run("cp", ["-a", process.execPath, join(local, "bin", "node")]);
  if (haveHeaders) await run("cp", ["-a", nodeHeaders, join(local, "include", "node")]);
  await run("cp", ["-a", npmDir, join(local, "lib", "node_modules", "npm")]);
  await run("ln", ["-s", "../lib/node_modules/npm/bin/npm-cli.js", join(local, "bin", "npm")]);
  await run("ln", ["-s", "../lib/node_modules/npm/bin/npx-cli.js", join(local, "bin", "npx")]);
  const environment = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"];
  if (haveHeaders) environment.push("npm_config_nodedir=/usr/local");
  if (caBundle) {
    // Where apt's update-ca-certificates does not rewrite it when the build installs packages.
    const inImage = "/usr/local/share/herald-ci/ca-bundle.pem";
    mkdirSync(join(root, dirname(inImage)), { recursive: true });
    await run("cp", [caBundle, join(root, inImage)]);
    environment.push(`NODE_EXTRA_CA_CERTS=${inImage}`, `npm_config_cafile=${inImage}`);
  }
  await new Promise((resolve, reject) => {
    const changes = environment.flatMap((variable) => ["--change", `ENV ${variable}`]);
    const tar = spawn("tar", ["-C", root, "-c", "."], { stdio: ["ignore", "pipe", "inherit"] });
    const importer = spawn("podman", ["import", ...changes, "-", tag], { env, stdio: ["pipe", "ignore", "pipe"] });
    let errors = "";
    importer.stderr.on("data", (chunk) => (errors += chunk));
    tar.stdout.pipe(importer.stdin);
    importer.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`podman import failed (${code}):\n${errors}`)),
    );
  });
  rmSync(root, { recursive: true, force: true });
  step(`local base ${tag} made`);
  return tag;
}

/** `podman build`, its output in a file shown when it fails. */
async function buildImage(base) {
  step(`podman build -f Containerfile --build-arg BASE=${base}`);
  const revision = (await run("git", ["-C", repo, "rev-parse", "HEAD"], { check: false })).stdout.trim();
  const logFile = join(work, "build.log");
  const args = [
    "build",
    "--file=Containerfile",
    "--format=docker",
    // The build stage and the dependencies' stage at once: better-sqlite3 compiles while TypeScript does.
    "--jobs=2",
    "--network=host",
    "--pull=never",
    "--layers=false",
    "--force-rm",
    `--build-arg=BASE=${base}`,
    `--build-arg=REVISION=${revision}`,
    `--tag=${names.image}`,
    repo,
  ];
  const code = await new Promise((resolve) => {
    build = spawn("podman", args, { env, stdio: ["ignore", "pipe", "pipe"] });
    const hung = setTimeout(() => build.kill("SIGTERM"), BUILD_TIMEOUT_MS);
    let output = "";
    build.stdout.on("data", (chunk) => (output += chunk));
    build.stderr.on("data", (chunk) => (output += chunk));
    build.on("close", (exit) => {
      clearTimeout(hung);
      writeFileSync(logFile, output);
      resolve(exit);
    });
  });
  build = undefined;
  const log = readFileSync(logFile, "utf8");
  expect(code === 0, `podman build failed (${code}); its last lines:`, log.split("\n").slice(-60).join("\n"));
  const size = (await podman(["image", "inspect", "--format", "{{.Size}}", names.image])).stdout.trim();
  const installs = log.match(/^added \d+ packages in \S+$/gm) ?? [];
  step(`image ${names.image} built: ${Math.round(Number(size) / 1e6)} MB (npm ci: ${installs.join("; ")})`);
}

/** A TCP port free on 127.0.0.1 now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The sandbox providers on the host, and a config directory for the image that sends every app to them. */
async function configDirectory(ports) {
  const dist = join(repo, "dist", "src", "sandbox", "index.js");
  if (!existsSync(dist)) await run("npm", ["run", "build"], { timeoutMs: 10 * 60_000 });
  const { startSandbox } = await import(dist);
  // The sandbox writes its key files into a directory of its own under TMPDIR: that directory is mounted.
  process.env.TMPDIR = work;
  sandbox = await startSandbox();
  const relay = generateKeyPairSync("ed25519");
  const apps = JSON.parse(JSON.stringify(sandbox.apps()).replaceAll(sandbox.dir, "/etc/herald"));
  const config = {
    http: { bind_addresses: ["127.0.0.1"], port: ports.http },
    log: { level: "info" },
    metrics: { prometheus: { enabled: true, address: "127.0.0.1", port: ports.metrics } },
    shutdown_timeout: SHUTDOWN_TIMEOUT_S,
    apps,
    walletconnect: {
      relay_public_key: Buffer.from(relay.publicKey.export({ format: "jwk" }).x, "base64url").toString("hex"),
      providers: { apns: appOfType("apns") },
      store: { type: "sqlite", path: "/data/walletconnect.sqlite3" },
    },
  };
  writeFileSync(join(sandbox.dir, "sygnal.yaml"), JSON.stringify(config, null, 2));
  // As docs/deployment.md says: the files belong to root and are readable by the image's group, and no one else.
  for (const name of ["", ...readdirSync(sandbox.dir)]) {
    const path = join(sandbox.dir, name);
    chownSync(path, 0, IMAGE_UID);
    chmodSync(path, name === "" ? 0o750 : 0o640);
  }
  return sandbox.dir;
}

async function waitForHealth(url) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const answer = await fetch(url).catch(() => undefined);
    if (answer?.status === 200) return;
    const state = (await podman(["inspect", "--format", "{{.State.Status}}", names.container])).stdout.trim();
    if (state !== "running") break;
    await sleep(250);
  }
  const logs = await podman(["logs", names.container], { check: false });
  throw new Error(`Herald in the image did not answer 200 on ${url}`, { cause: logs.stdout + logs.stderr });
}

function notification(eventId, devices) {
  return JSON.stringify({
    notification: {
      event_id: eventId,
      room_id: "!image-check:example.org",
      type: "m.room.message",
      sender: "@alice:example.org",
      counts: { unread: 1 },
      devices,
    },
  });
}

async function runChecks(configDir, ports) {
  const base = `http://127.0.0.1:${ports.http}`;

  const version = await podman(["run", "--rm", "--network=host", names.image, "--version"]);
  const label = (
    await podman(["image", "inspect", "--format", '{{index .Labels "org.opencontainers.image.version"}}', names.image])
  ).stdout.trim();
  expect(version.stdout === `${manifest.version}\n`, `the image's herald --version said ${version.stdout.trim()}`);
  expect(label === manifest.version, `the image's version label says ${label}, package.json ${manifest.version}`);
  step(`herald --version in the image: ${manifest.version}, as its label says`);

  await podman(["volume", "create", names.volume]);
  await podman([
    "run",
    "--detach",
    `--name=${names.container}`,
    "--network=host",
    // As docs/deployment.md's Kubernetes example: nothing written outside /data, no capabilities at all.
    "--read-only",
    "--read-only-tmpfs=false",
    "--cap-drop=all",
    "--security-opt=no-new-privileges",
    `--volume=${configDir}:/etc/herald:ro`,
    `--volume=${names.volume}:/data`,
    `--env=HERALD_HEALTH_URL=${base}/health`,
    names.image,
  ]);
  await waitForHealth(`${base}/health`);
  step(`podman run: the default command serves ${configDir} mounted at /etc/herald (SYGNAL_CONF); /health 200`);

  const health = await podman(["healthcheck", "run", names.container], { check: false });
  expect(health.code === 0, "the image's HEALTHCHECK did not pass", health.stdout + health.stderr);
  const top = (await podman(["top", names.container, "pid", "user", "huser", "args"])).stdout.trim().split("\n");
  const pid1 = top.find((line) => /^1\s/.test(line.trim()));
  expect(
    pid1 && /^1\s+herald\s+10001\s+node \/opt\/herald\/dist\/src\/main\.js serve\s*$/.test(pid1.trim()),
    "PID 1 is not Herald as the user herald (10001)",
    top.join("\n"),
  );
  step(`HEALTHCHECK healthy; PID 1: ${pid1.trim().replace(/\s+/g, " ")}`);

  const devices = deviceList();
  const answer = await fetch(`${base}/_matrix/push/v1/notify`, {
    method: "POST",
    body: notification("$image-1", devices),
  });
  const body = await answer.text();
  expect(answer.status === 200 && JSON.parse(body).rejected.length === 0, `/notify answered ${answer.status} ${body}`);
  const reached = ["apns", "fcm", "webpush", "hms", "threema"].filter((name) => sandbox[name].received.length === 1);
  expect(reached.length === 5, `the push reached only ${reached.join(", ") || "no provider"}`);
  step(`/notify answered 200 ${body}; the sandbox providers received it: ${reached.join(", ")}`);

  const wallet = { client_id: "did:key:z6MkHeraldImageCheck", type: "apns", token: "0a11e7".padEnd(64, "0") };
  const registered = await fetch(`${base}/clients`, { method: "POST", body: JSON.stringify(wallet) });
  expect(registered.status === 200, `POST /clients answered ${registered.status} ${await registered.text()}`);
  const data = (await podman(["exec", names.container, "ls", "-ln", "/data"])).stdout;
  expect(
    /^-\S+\s+\d+\s+10001\s+10001\s.*walletconnect\.sqlite3$/m.test(data),
    "no registry of the user herald in /data",
    data,
  );
  step("POST /clients answered 200: the registry is /data/walletconnect.sqlite3, the user herald's, in the volume");

  const metrics = await fetch(`http://127.0.0.1:${ports.metrics}/metrics`);
  const exposition = await metrics.text();
  expect(
    metrics.status === 200 && /^sygnal_notifications_received_total 1$/m.test(exposition),
    `/metrics answered ${metrics.status}`,
    exposition.slice(0, 2000),
  );
  step(`metrics on port ${ports.metrics}: sygnal_notifications_received_total 1`);

  await drainOnStop(base);
}

/** `podman stop` while a push is in flight: the push is answered, and Herald exits 0 within shutdown_timeout. */
async function drainOnStop(base) {
  sandbox.apns.script(SLOW_TOKEN, { status: 200, delayMs: IN_FLIGHT_MS });
  const before = sandbox.apns.requests;
  const device = { app_id: appOfType("apns"), pushkey: Buffer.from(SLOW_TOKEN, "hex").toString("base64") };
  const inFlight = fetch(`${base}/_matrix/push/v1/notify`, {
    method: "POST",
    body: notification("$image-2", [device]),
  });
  const arrived = Date.now() + 10_000;
  while (sandbox.apns.requests === before && Date.now() < arrived) await sleep(20);
  expect(sandbox.apns.requests > before, "the slow push never reached the sandbox APNs");
  const stopping = Date.now();
  await podman(["stop", `--time=${SHUTDOWN_TIMEOUT_S + 4 + 10}`, names.container], { timeoutMs: 60_000 });
  const stopMs = Date.now() - stopping;
  const answer = await inFlight;
  const body = await answer.text();
  expect(
    answer.status === 200 && body === '{"rejected": []}',
    `the push in flight was answered ${answer.status} ${body}`,
  );
  const exitCode = (await podman(["inspect", "--format", "{{.State.ExitCode}}", names.container])).stdout.trim();
  const logs = await podman(["logs", names.container]);
  const output = logs.stdout + logs.stderr;
  expect(exitCode === "0", `Herald exited ${exitCode} on podman stop, not 0`, output);
  expect(/"signal":"SIGTERM".*"Signal received"/.test(output), "Herald did not log the SIGTERM", output);
  expect(stopMs < SHUTDOWN_TIMEOUT_S * 1000, `podman stop took ${stopMs} ms, more than shutdown_timeout`, output);
  const seconds = (stopMs / 1000).toFixed(1);
  step(
    `podman stop with a push in flight (held ${IN_FLIGHT_MS} ms by the sandbox): answered 200, then exit code 0 ` +
      `${seconds} s after the SIGTERM (shutdown_timeout ${SHUTDOWN_TIMEOUT_S} s)`,
  );
}

/** The id of the sandbox's app of that type. */
function appOfType(type) {
  const apps = sandbox.apps();
  return Object.keys(apps).find((app) => apps[app].type === type);
}

/** One device for each sandbox app, as the demo sends them. */
function deviceList() {
  const subscription = sandbox.webpush.createSubscription();
  const threemaUser = sandbox.threema.createRecipient("HERALD42");
  return [
    { app_id: appOfType("apns"), pushkey: Buffer.from("c0ffee00".repeat(8), "hex").toString("base64") },
    { app_id: appOfType("gcm"), pushkey: "fcm-image-token:APA91bHerald" },
    { app_id: appOfType("hms"), pushkey: "hms-image-token-0123456789abcdef" },
    { app_id: appOfType("threema"), pushkey: threemaUser.identity, data: { public_key: threemaUser.publicKeyHex } },
    {
      app_id: appOfType("webpush"),
      pushkey: subscription.keys.p256dh,
      data: { endpoint: subscription.endpoint, auth: subscription.keys.auth },
    },
  ];
}

/** Removes what this run made (never the base); synchronous, so that it also runs on a signal. */
function cleanUp() {
  build?.kill("SIGTERM");
  const quietly = (args) => {
    try {
      execFileSync("podman", args, { env, stdio: "ignore", timeout: 60_000 });
    } catch {
      // not there
    }
  };
  if (env) {
    quietly(["rm", "--force", "--volumes", names.container]);
    quietly(["volume", "rm", "--force", names.volume]);
    quietly(["rmi", "--force", names.image]);
  }
  if (work) rmSync(work, { recursive: true, force: true });
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    cleanUp();
    process.exit(1);
  });
}

let failed = false;
try {
  const skipped = await tools();
  if (skipped) {
    console.log(`check-image: skipped: no podman (${skipped})`);
    process.exit(0);
  }
  expect(process.getuid?.() === 0, "check-image runs rootful podman: run it as root");
  work = mkdtempSync(join(tmpdir(), "herald-image-"));
  env = { ...process.env, CONTAINERS_CONF: join(work, "containers.conf") };
  writeFileSync(
    env.CONTAINERS_CONF,
    '[containers]\ndefault_ulimits = []\n\n[engine]\ncgroup_manager = "cgroupfs"\nruntime = "runc"\n',
  );
  const podmanVersion = (await podman(["--version"])).stdout.trim();
  console.log(`== Herald's container image: ${podmanVersion}, runc, Node ${process.version} in the local base`);
  const base = await localBase();
  await buildImage(base);
  const ports = { http: await freePort(), metrics: await freePort() };
  const configDir = await configDirectory(ports);
  await runChecks(configDir, ports);
  console.log(`== the image builds, serves and drains (${elapsed()})`);
} catch (error) {
  console.error(`check-image: ${error.message}${error.cause ? `\n--- Herald's log:\n${error.cause}` : ""}`);
  failed = true;
} finally {
  await sandbox?.close().catch(() => {});
  cleanUp();
}
process.exitCode = failed ? 1 : 0;
