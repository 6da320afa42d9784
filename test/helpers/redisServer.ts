/**
 * A `redis-server` of a test's own, on a free loopback port, keeping nothing on disk: for a test that stops Redis, or
 * needs TLS or Sentinel. It is killed when the test file's process exits, whatever ends it; its directory is removed.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closedPort } from "./ports.js";
import { waitFor } from "./waitFor.js";

export const REDIS_SERVER = "redis-server";

export interface RedisServer {
  port: number;
  /** The port it answers plain Redis on (for TLS: its TLS port). */
  url: string;
  /** Kills it (SIGKILL: as a Redis that goes away); it can be started again on the same port. */
  stop(): Promise<void>;
  /** Starts it again, on the same port, empty. */
  restart(): Promise<void>;
  /** Stops it for good and removes its directory. */
  close(): Promise<void>;
}

export interface RedisServerOptions {
  /** Extra `redis-server` arguments (`--tls-port`, `--sentinel`, ...), given after Herald's. */
  args?: (port: number, dir: string) => string[];
  /** Lines of a config file written to its directory first, e.g. Sentinel's (which rewrites its own file). */
  configFile?: (port: number, dir: string) => string;
  /** How to tell it answers: a PING over plain TCP, unless the server only speaks TLS. */
  ready?: (port: number) => Promise<boolean>;
}

const running = new Set<ChildProcess>();
const directories = new Set<string>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
  for (const dir of directories) rmSync(dir, { recursive: true, force: true });
});

/** Whether `redis-server` can be run here. */
export function hasRedisServer(): boolean {
  return spawnSync(REDIS_SERVER, ["--version"], { stdio: "ignore" }).status === 0;
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await closedPort();
  const dir = mkdtempSync(join(tmpdir(), "herald-redis-"));
  directories.add(dir);
  let child: ChildProcess | undefined;
  const start = async () => {
    const config = options.configFile ? [join(dir, "redis.conf")] : [];
    if (options.configFile) writeFileSync(config[0]!, options.configFile(port, dir));
    const args = [
      ...config,
      ...["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"],
      ...(options.args?.(port, dir) ?? []),
    ];
    const started = spawn(REDIS_SERVER, args, { stdio: ["ignore", "pipe", "pipe"] });
    child = started;
    running.add(started);
    let output = "";
    started.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    started.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    const exit = new Promise<void>((resolve) => started.once("exit", () => resolve()));
    started.once("exit", () => running.delete(started));
    await waitFor(`redis-server on port ${port} to answer`, async () => {
      if (started.exitCode !== null) throw new Error(`redis-server exited: ${output.slice(-2000)}`);
      return (options.ready ?? pings)(port);
    });
    // Wrapped: an async function's promise would wait for the exit itself.
    return { exit };
  };
  let { exit: exited } = await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      child?.kill("SIGKILL");
      await exited;
    },
    restart: async () => {
      ({ exit: exited } = await start());
    },
    close: async () => {
      child?.kill("SIGKILL");
      await exited;
      rmSync(dir, { recursive: true, force: true });
      directories.delete(dir);
    },
  };
}

/** Whether a Redis without a password answers PING on this loopback port, within a second. */
export function pings(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    let answer = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (data: Buffer) => {
      answer += data.toString();
      if (answer.includes("\r\n")) done(answer.startsWith("+PONG"));
    });
  });
}
