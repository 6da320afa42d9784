/** The command line of `npm run bench` (node dist/bench/run.js). */
import { parseArgs } from "node:util";
import type { Settings } from "./types.js";

export const USAGE = `usage: npm run bench -- [options]

  --duration S         measured seconds per scenario (default 8; --quick: 2)
  --warmup S           uncounted warm-up seconds before each measured run (default 2; --quick: 1)
  --connections N      connections of the closed-loop and open-loop runs (default 64; the 10-device scenarios
                       use at most 48, so that their 10 pushes a request stay within inflight_request_limit 512)
  --latency-connections N
                       connections of the 50 ms provider-latency scenario (default 256)
  --soak S             seconds of the soak scenario (default 120; --quick: 10)
  --quick              a short smoke run
  --only IDS           comma-separated scenario ids (ceiling, floor, apns-1, apns-10, apns-1-latency, isolation,
                       open-loop, workers-2, fleet, fcm-1, fcm-10, webpush-1, hms-1, abuse, tracing, soak)
                       and/or 'micro'; default: everything
  --herald-node-args="FLAGS"
                       node flags for Herald's process only, e.g. --herald-node-args="--cpu-prof --cpu-prof-dir=/tmp/prof"
                       (with the '=': a value that starts with '-' is otherwise taken for an option)`;

export interface Options {
  settings: Settings;
  quick: boolean;
  /** undefined: everything. */
  only: Set<string> | undefined;
}

export function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: "string" },
      warmup: { type: "string" },
      connections: { type: "string" },
      "latency-connections": { type: "string" },
      soak: { type: "string" },
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      "herald-node-args": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick;
  const number = (name: string, value: string | undefined, fallback: number) => {
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`--${name} must be a positive number`);
    return parsed;
  };
  const soakS = number("soak", values.soak, quick ? 10 : 120);
  return {
    quick,
    only: values.only ? new Set(values.only.split(",").map((id) => id.trim())) : undefined,
    settings: {
      durationS: number("duration", values.duration, quick ? 2 : 8),
      warmupS: number("warmup", values.warmup, quick ? 1 : 2),
      connections: number("connections", values.connections, 64),
      tenDeviceConnections: Math.min(48, number("connections", values.connections, 64)),
      latencyConnections: number("latency-connections", values["latency-connections"], 256),
      soakS,
      soakSkipS: Math.min(20, soakS / 2),
      hangingRate: 200,
      hangingConnections: 128,
      abuseSlowConnections: 2000,
      abuseFloodConnections: 4,
      latencyMs: 50,
      heraldNodeArgs: values["herald-node-args"]?.split(/\s+/).filter(Boolean) ?? [],
    },
  };
}
