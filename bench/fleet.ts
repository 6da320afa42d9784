/**
 * The fleet scenario: the load of 'apns-1' (one APNs device, closed loop) against Herald sharing its duplicate
 * suppression and dead-token memory through Redis, as one process and as `http.workers: 2`. The same without Redis
 * are the 'apns-1' and 'workers-2' rows (the workers then share through the primary, over IPC).
 *
 * The scenario starts its own `redis-server` (no persistence, a free loopback port), so that Redis's CPU can be
 * measured and nothing else uses it; without the binary, its rows are skipped. Each row gives, besides the table's
 * figures, Redis's and Herald's CPU per push, the commands Redis ran per push (from its own INFO commandstats: a
 * /notify asks once before sending, one MGET, and tells once after, one SET per device delivered), and Herald's
 * `herald_shared_state_ok` at the end of the run, which says Redis was in use throughout.
 */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { Redis } from "ioredis";
import { APP_ID, notificationBody, randomPushkeys } from "./bodies.js";
import { oneAppConfig, type HeraldConfig } from "./heraldConfig.js";
import { counterDeltas, scrape, type Samples } from "./heraldMetrics.js";
import { measure } from "./measure.js";
import { freePort, HeraldStartError, startHerald, startRedisServer, stop, type RedisServer } from "./processes.js";
import { round } from "./stats.js";
import type { BenchContext, Row, Scenario } from "./types.js";

const HERALD_OK = '{"rejected": []}';
const RUN_ID = Date.now().toString(36);
const body = notificationBody(APP_ID, randomPushkeys(1), `${RUN_ID}-fleet`);

/** The fleet rows: id, name, Herald's `http.workers`. */
const VARIANTS: [id: string, name: string, workers: number][] = [
  ["fleet-redis", "apns 1 device, redis", 1],
  ["fleet-workers-2-redis", "apns 1 device, http.workers: 2, redis", 2],
];

/** The same load without Redis, which the fleet rows are compared with. */
const REFERENCES = { apns1: "apns-1", workers2: "workers-2" } as const;

/** A fleet row's own figures, in its `extra`. */
export interface FleetFigures {
  /** What the per-push figures divide by: the pushes the sandbox APNs accepted, or the good answers if none. */
  pushes: number;
  pushesFrom: "sandbox" | "good answers";
  redisCpuUsPerPush: number;
  heraldCpuUsPerPush: number;
  /** Redis's commands during the measured run (INFO commandstats), the benchmark's own INFO left out. */
  redisCommands: Record<string, number>;
  redisCommandsPerPush: number;
  /** Clients named `herald` connected to Redis at the end of the run: one per process that serves requests. */
  heraldRedisClients: number;
  /** `herald_shared_state_ok` at the end of the run (1: shared through Redis), and the failures counted during it. */
  sharedStateOk: number | null;
  sharedStateFailures: Record<string, number>;
  /** The rows of the same load without Redis, when they ran: this row's req/s over theirs, their Herald's CPU. */
  withoutRedis: Partial<
    Record<keyof typeof REFERENCES, { id: string; reqPerSRatio: number; heraldCpuUsPerPush: number }>
  >;
}

/** The first executable `name` on the PATH, or undefined. */
export function findOnPath(name: string, path = process.env.PATH ?? ""): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The `calls` of every command in an `INFO commandstats` answer, by command (`mget`, `client|setname`, …). */
export function commandCalls(info: string): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]!] = Number(match[2]);
  return calls;
}

/**
 * What each command's count moved by from `before` to `after`, by command name in order, those that did not move and
 * `info` left out.
 */
export function commandDeltas(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const deltas: Record<string, number> = {};
  for (const [command, calls] of Object.entries(after).sort(([a], [b]) => a.localeCompare(b))) {
    const delta = calls - (before[command] ?? 0);
    if (command !== "info" && delta !== 0) deltas[command] = delta;
  }
  return deltas;
}

/** µs of CPU per push, from a CPU % of one core over `durationS`. */
function cpuUsPerPush(cpuPercent: number, durationS: number, pushes: number): number {
  return round(((cpuPercent / 100) * durationS * 1e6) / pushes, 1);
}

/** The pushes a row's per-push figures divide by. */
function pushesOf(row: Pick<Row, "sandboxPushes" | "load">): { pushes: number; from: FleetFigures["pushesFrom"] } {
  return row.sandboxPushes
    ? { pushes: row.sandboxPushes, from: "sandbox" }
    : { pushes: row.load?.good ?? 0, from: "good answers" };
}

function skipped(id: string, name: string, note: string): Row {
  return { id, name, target: "herald", available: false, note };
}

async function redisRow(
  ctx: BenchContext,
  redis: RedisServer,
  client: Redis,
  [id, name, workers]: (typeof VARIANTS)[number],
): Promise<Row> {
  const { settings, sandbox } = ctx;
  await sandbox.setFaults(0, {});
  const metricsPort = await freePort();
  const metricsUrl = `http://127.0.0.1:${metricsPort}`;
  const config: HeraldConfig = {
    ...oneAppConfig(sandbox.sandboxes[0]!, workers > 1 ? { workers } : {}),
    redis: { url: redis.url, key_prefix: `herald-bench:${RUN_ID}:${id}:` },
    metrics: { prometheus: { enabled: true, address: "127.0.0.1", port: metricsPort } },
  };
  let herald;
  try {
    herald = await startHerald(config, join(ctx.dir, `${id}.yaml`), settings.heraldNodeArgs);
  } catch (error) {
    if (!(error instanceof HeraldStartError) || workers === 1) throw error;
    const reason = error.message.split("\n").find((line) => /workers/.test(line)) ?? error.message.split("\n")[0];
    return skipped(id, name, `not available: Herald refused the config (${reason?.trim()})`);
  }
  try {
    let commandsBefore: Record<string, number> = {};
    let commands: Record<string, number> = {};
    let metricsBefore: Samples = new Map();
    let metricsAfter: Samples = new Map();
    let clients = 0;
    const measured = await measure(
      {
        serverPid: herald.pid,
        sandbox,
        warmupS: settings.warmupS,
        redisPid: redis.pid,
        window: {
          async start() {
            commandsBefore = commandCalls(await client.info("commandstats"));
            metricsBefore = await scrape(metricsUrl);
          },
          async end() {
            commands = commandDeltas(commandsBefore, commandCalls(await client.info("commandstats")));
            metricsAfter = await scrape(metricsUrl);
            const list = (await client.call("CLIENT", "LIST")) as string;
            clients = list.split("\n").filter((line) => / name=herald /.test(line)).length;
          },
        },
      },
      {
        url: herald.url,
        body,
        expectedBody: HERALD_OK,
        connections: settings.connections,
        durationS: settings.durationS,
      },
    );
    const { load, usage } = measured;
    const { pushes, from } = pushesOf(measured);
    const withoutRedis: FleetFigures["withoutRedis"] = {};
    for (const [key, refId] of Object.entries(REFERENCES) as [keyof typeof REFERENCES, string][]) {
      const ref = ctx.rows.find((r) => r.id === refId && r.available && r.load && r.usage);
      if (!ref) continue;
      withoutRedis[key] = {
        id: refId,
        reqPerSRatio: round(load.reqPerS / ref.load!.reqPerS, 3),
        heraldCpuUsPerPush: cpuUsPerPush(ref.usage!.server.cpuPercent, ref.load!.durationS, pushesOf(ref).pushes),
      };
    }
    const figures: FleetFigures = {
      pushes,
      pushesFrom: from,
      redisCpuUsPerPush: cpuUsPerPush(usage.redisCpuPercent ?? NaN, load.durationS, pushes),
      heraldCpuUsPerPush: cpuUsPerPush(usage.server.cpuPercent, load.durationS, pushes),
      redisCommands: commands,
      redisCommandsPerPush: round(Object.values(commands).reduce((a, b) => a + b, 0) / pushes, 3),
      heraldRedisClients: clients,
      sharedStateOk: metricsAfter.get("herald_shared_state_ok") ?? null,
      sharedStateFailures: counterDeltas(metricsBefore, metricsAfter, "herald_shared_state_failures_total"),
      withoutRedis,
    };
    return {
      id,
      name,
      target: "herald",
      available: true,
      connections: load.connections,
      rate: load.rate,
      load,
      usage,
      sandboxPushes: measured.sandboxPushes,
      extra: { ...figures },
    };
  } finally {
    await stop(herald.child);
  }
}

export const fleet: Scenario = {
  id: "fleet",
  async run(ctx) {
    const binary = findOnPath("redis-server");
    if (!binary) {
      return VARIANTS.map(([id, name]) =>
        skipped(id, name, "skipped: no redis-server on the PATH (Debian: apt-get install redis-server)"),
      );
    }
    const redis = await startRedisServer(binary, ctx.dir);
    const client = new Redis(redis.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      connectionName: "bench",
      retryStrategy: () => null,
    });
    // A failed INFO rejects the scenario by itself; the event would only repeat it, or report Redis stopped on Ctrl-C.
    client.on("error", () => {});
    try {
      await client.connect();
      ctx.log(`  ${binary} on ${redis.url}`);
      const rows: Row[] = [];
      for (const variant of VARIANTS) rows.push(await redisRow(ctx, redis, client, variant));
      return rows;
    } finally {
      client.disconnect();
      await stop(redis.child);
    }
  },
};
