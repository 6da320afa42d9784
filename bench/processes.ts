/**
 * The child processes of a benchmark run: Herald (the real `herald serve`), the sandbox providers (APNs, FCM,
 * WebPush, HMS), the bare ceiling server, the floor of a push, the abuse scenario's attacker and the fleet scenario's `redis-server`. Every
 * child is registered as it starts, so that stopAll() ends each one, also on failure and on Ctrl-C.
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { writeYaml } from "../src/config/yaml.js";
import type { FaultMix } from "../src/sandbox/apns.js";
import type { AttackerReply, AttackerRequest, AttackOptions, AttackStats } from "./attackerProcess.js";
import type { RelayFloorOptions } from "./relayFloor.js";
import type { Provider, SandboxInfo, SandboxReply, SandboxRequest, SandboxStats } from "./sandboxProcess.js";

const HERALD_MAIN = fileURLToPath(new URL("../src/main.js", import.meta.url));
const SANDBOX_MAIN = fileURLToPath(new URL("./sandboxProcess.js", import.meta.url));
const BARE_MAIN = fileURLToPath(new URL("./bareServer.js", import.meta.url));
const ATTACKER_MAIN = fileURLToPath(new URL("./attackerProcess.js", import.meta.url));
const RELAY_FLOOR_MAIN = fileURLToPath(new URL("./relayFloor.js", import.meta.url));

const children = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. */
export async function stop(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((child) => stop(child)));
}

/** Last resort, from a process 'exit' handler: no waiting is possible there. */
export function killAllNow(): void {
  for (const child of children) child.kill("SIGKILL");
}

/** A port that was free a moment ago: bind port 0, read the port, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RunningHerald {
  child: ChildProcess;
  pid: number;
  url: string;
}

export class HeraldStartError extends Error {}

/** `herald serve` on a generated config, logs (level info, access log included) to /dev/null. */
export async function startHerald(
  config: Record<string, unknown>,
  configPath: string,
  nodeArgs: string[] = [],
): Promise<RunningHerald> {
  const port = await freePort();
  const http = { ...(config.http as Record<string, unknown> | undefined), bind_addresses: ["127.0.0.1"], port };
  writeFileSync(configPath, writeYaml({ ...config, http }));
  const child = track(
    spawn(process.execPath, [...nodeArgs, HERALD_MAIN, "serve", "--config", configPath], {
      stdio: ["ignore", "ignore", "pipe"],
    }),
  );
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code, signal) =>
      reject(
        new HeraldStartError(
          `Herald exited (${signal ?? `code ${code}`}) at start-up: ${stderr.trim() || "(no message)"}`,
        ),
      ),
    ),
  );
  exited.catch(() => {});
  try {
    await Promise.race([waitForHttp(`${url}/health`, 15_000), exited]);
  } catch (error) {
    await stop(child);
    throw error;
  }
  return { child, pid: child.pid!, url };
}

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface RedisServer {
  child: ChildProcess;
  pid: number;
  url: string;
}

/**
 * `redis-server` (the binary at `binary`) on a free loopback port, without persistence (`--save ""`, no AOF), its
 * working directory `dir`; resolves once it accepts connections.
 */
export async function startRedisServer(binary: string, dir: string, timeoutMs = 10_000): Promise<RedisServer> {
  const port = await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir];
  const child = track(spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] }));
  let output = "";
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`redis-server did not start within ${timeoutMs} ms: ${output}`)),
      timeoutMs,
    );
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${signal ?? `code ${code}`}) at start-up: ${output.trim()}`));
    });
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.setEncoding("utf8").on("data", (chunk: string) => {
        output += chunk;
        if (output.includes("Ready to accept connections")) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  });
  try {
    await ready;
  } catch (error) {
    await stop(child);
    throw error;
  }
  // The log is not read any more: drop it rather than let the pipe fill and block the server.
  child.stdout!.removeAllListeners("data").resume();
  child.stderr!.removeAllListeners("data").resume();
  return { child, pid: child.pid!, url: `redis://127.0.0.1:${port}` };
}

/** Forks a child that reports `{type: "ready", ...}` over IPC once it listens. */
function forkReady<T>(main: string, args: string[]): Promise<{ child: ChildProcess; ready: T }> {
  const child = track(fork(main, args, { stdio: ["ignore", "ignore", "inherit", "ipc"] }));
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${main} exited with ${code} before it was ready`)));
    child.once("message", (message) => resolve({ child, ready: message as T }));
  });
}

export interface BareServer {
  child: ChildProcess;
  pid: number;
  url: string;
}

export async function startBareServer(): Promise<BareServer> {
  const { child, ready } = await forkReady<{ port: number }>(BARE_MAIN, []);
  return { child, pid: child.pid!, url: `http://127.0.0.1:${ready.port}` };
}

/** The floor of a push (`relayFloor.ts`), sending to the sandbox APNs of `sandbox`. */
export async function startRelayFloor(sandbox: SandboxInfo): Promise<BareServer> {
  const { url, ca, keyfile, keyId, teamId, topic } = sandbox;
  const options: RelayFloorOptions = { url, ca, keyfile, keyId, teamId, topic };
  const { child, ready } = await forkReady<{ port: number }>(RELAY_FLOOR_MAIN, [JSON.stringify(options)]);
  return { child, pid: child.pid!, url: `http://127.0.0.1:${ready.port}` };
}

/** Requests to a forked child over IPC, each answered by a reply with the same id. */
class Asker<Request extends { id: number }, Reply extends { id: number }> {
  private nextId = 0;
  private readonly pending = new Map<number, (reply: Reply) => void>();

  constructor(private readonly child: ChildProcess) {
    child.on("message", (message: Reply) => {
      this.pending.get(message.id)?.(message);
      this.pending.delete(message.id);
    });
  }

  ask(request: DistributiveOmit<Request, "id">): Promise<Reply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, resolve);
      this.child.send({ ...request, id }, (error) => error && reject(error));
    });
  }
}

/** The sandbox process and its IPC: set fault mixes, read counters. */
export class SandboxProcess {
  private readonly asker: Asker<SandboxRequest, SandboxReply>;

  private constructor(
    readonly child: ChildProcess,
    readonly sandboxes: SandboxInfo[],
  ) {
    this.asker = new Asker(child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  static async start(count: number): Promise<SandboxProcess> {
    const { child, ready } = await forkReady<{ sandboxes: SandboxInfo[] }>(SANDBOX_MAIN, [String(count)]);
    return new SandboxProcess(child, ready.sandboxes);
  }

  /** Replaces the fault mix of a provider of sandbox `index` (`{}`: answer every push at once). */
  async setFaults(index: number, faults: FaultMix, provider: Provider = "apns"): Promise<void> {
    await this.asker.ask({ op: "faults", index, provider, faults });
  }

  /** Zeroes the counters of every provider of every sandbox; the fault mixes stay. */
  async zeroCounters(): Promise<void> {
    await this.asker.ask({ op: "zero" });
  }

  async stats(): Promise<SandboxStats[]> {
    return (await this.asker.ask({ op: "stats" })).stats ?? [];
  }
}

/** The abuse scenario's attacker (`attackerProcess.ts`), attacking from the moment it is ready until it is stopped. */
export class AttackerProcess {
  private readonly asker: Asker<AttackerRequest, AttackerReply>;

  private constructor(readonly child: ChildProcess) {
    this.asker = new Asker(child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves once every slow connection has been opened. */
  static async start(options: AttackOptions): Promise<AttackerProcess> {
    const { child } = await forkReady(ATTACKER_MAIN, [JSON.stringify(options)]);
    return new AttackerProcess(child);
  }

  async zeroCounters(): Promise<void> {
    await this.asker.ask({ op: "zero" });
  }

  /** What the attack got since the counters were zeroed. */
  async stats(): Promise<AttackStats> {
    const { stats } = await this.asker.ask({ op: "stats" });
    if (!stats) throw new Error("the attacker sent no stats");
    return stats;
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
