/** Runs the compiled `herald` command as an operator would, and collects its exit code and output. */
import { spawn } from "node:child_process";
import { heraldBin } from "./paths.js";

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** SYGNAL_CONF is cleared unless `env` sets it, so that the runner's own environment does not leak in. */
export function runHerald(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [heraldBin, ...args], { env: { ...process.env, SYGNAL_CONF: "", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
