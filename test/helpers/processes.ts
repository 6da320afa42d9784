/**
 * The compiled `herald` command run as an operator runs it, as a child process that is always stopped: when its test
 * ends, pass or fail, and when the test file's process exits. A hung command fails its test with its output.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { heraldBin } from "./paths.js";
import type { Owner } from "./tempDir.js";
import { waitFor } from "./waitFor.js";

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface HeraldProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** stdout and stderr, interleaved as they arrived. */
  output(): string;
  /** The exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Waits until the output matches `pattern`; fails if the process exits first or the wait times out. */
  waitForOutput(pattern: RegExp, what: string, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Kills the process and its workers at once, and waits for it to exit. */
  kill(): Promise<void>;
}

/** Every child still running, killed with the test file's process whatever ends it. */
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) killGroup(child);
});

/** Each child leads a process group of its own, so that its cluster workers die with it. */
function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    // already gone
  }
}

/** SYGNAL_CONF is cleared unless `env` sets it, so that the runner's own environment does not leak in. */
function start(args: string[], env: NodeJS.ProcessEnv): HeraldProcess {
  const child = spawn(process.execPath, [heraldBin, ...args], {
    env: { ...process.env, SYGNAL_CONF: "", ...env },
    detached: true,
  });
  running.add(child);
  let stdout = "";
  let stderr = "";
  let output = "";
  child.stdout!.on("data", (d: Buffer) => ((stdout += d.toString()), (output += d.toString())));
  child.stderr!.on("data", (d: Buffer) => ((stderr += d.toString()), (output += d.toString())));
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.on("close", (exitCode) => {
      running.delete(child);
      resolve((code = exitCode));
    }),
  );
  const tail = () => output.slice(-3000);
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    output: () => output,
    exited,
    waitForOutput: (pattern, what, timeoutMs = 15_000) =>
      waitFor(
        `herald ${args[0]} to print ${what}`,
        () => {
          const match = output.match(pattern);
          if (match) return match;
          if (code !== undefined) throw new Error(`herald ${args[0]} exited (${code}) before ${what}:\n${tail()}`);
          return undefined;
        },
        { timeoutMs, intervalMs: 10 },
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n--- its output:\n${tail()}`, { cause: error });
      }),
    kill: async () => {
      if (code === undefined) killGroup(child);
      await exited;
    },
  };
}

/** Starts `herald <args>`; it is killed, with its workers, when `owner` ends if it has not exited by then. */
export function spawnHerald(owner: Owner, args: string[], env: NodeJS.ProcessEnv = {}): HeraldProcess {
  const herald = start(args, env);
  const stop = () => herald.kill();
  if (typeof owner === "function") owner(stop);
  else owner.after(stop);
  return herald;
}

/** Runs `herald <args>` to its end and collects its exit code and output; a run that outlasts `timeoutMs` fails. */
export async function runHerald(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  { timeoutMs = 30_000 }: { timeoutMs?: number } = {},
): Promise<Run> {
  const child = start(args, env);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void child.kill();
      reject(
        new Error(`herald ${args.join(" ")} did not exit within ${timeoutMs} ms:\n${child.output().slice(-3000)}`),
      );
    }, timeoutMs);
  });
  try {
    const code = await Promise.race([child.exited, timedOut]);
    return { code, stdout: child.stdout(), stderr: child.stderr() };
  } finally {
    clearTimeout(timer);
  }
}
