/**
 * One measured load run: a warm-up that is not counted, a pause of 0.5 s, then the measured run (or, with
 * `warmOnSameConnections`, one run whose first part is not counted) while /proc is sampled for the server under test (Herald with its workers, or the bare server), the sandbox, the abuse scenario's
 * attacker, the fleet scenario's Redis, this process (the load generator) and the whole machine.
 */
import { cpus } from "node:os";
import { runLoad, type LoadOptions, type LoadResult } from "./load.js";
import { machineCpu, selfCpu, TreeSampler, type TreeUsage } from "./procStats.js";
import type { SandboxProcess } from "./processes.js";
import type { Provider } from "./sandboxProcess.js";
import { round } from "./stats.js";

export interface Usage {
  /** The server under test: peak RSS summed over its processes (MB), CPU % of one core. */
  server: { peakRssMb: number; endRssMb: number; cpuPercent: number; processes: number; idleRssMb?: number };
  sandboxCpuPercent: number | null;
  /** The abuse scenario's attacker process, when there is one. */
  attackerCpuPercent?: number;
  /** The fleet scenario's `redis-server`, when there is one. */
  redisCpuPercent?: number;
  loadGeneratorCpuPercent: number;
  /** Both cores busy = 100%. */
  machineCpuPercent: number;
  /**
   * CPU used by everything else on the machine (% of one core): the machine's busy time less the server's, the
   * sandbox's, the attacker's, Redis's and the load generator's. Other work on a shared machine shows here; the run
   * is then less reliable.
   */
  otherCpuPercent: number;
  /** With `rssSeriesIntervalMs`: the server's RSS every interval (seconds since the start of the measured run). */
  rssSamples?: { atS: number; rssMb: number }[];
}

export interface Measured {
  load: LoadResult;
  usage: Usage;
  /** Pushes the provider under test (of the first sandbox) accepted (2xx) during the measured run. */
  sandboxPushes: number | null;
}

export interface MeasureTarget {
  serverPid: number;
  sandbox?: SandboxProcess;
  /** The provider whose pushes are counted in `sandboxPushes`; default "apns". */
  provider?: Provider;
  warmupS: number;
  /** RSS sampling interval for the samples kept in `rssSamples` (the peak always uses 250 ms). */
  rssSeriesIntervalMs?: number;
  /**
   * Warm up on the measured run's own connections (one load run whose first part is not counted, no pause), so that
   * the measured run opens none: the load connects, `beforeWarmup` runs (the abuse scenario starts its attack), then
   * `warmupS` of warm-up, then the measured run.
   */
  warmOnSameConnections?: boolean;
  beforeWarmup?: () => Promise<void>;
  /** The abuse scenario's attacker, whose CPU is sampled like the sandbox's; asked when the measured run starts. */
  attackerPid?: () => number | undefined;
  /** The fleet scenario's `redis-server`, whose CPU is sampled like the sandbox's. */
  redisPid?: number;
  /** Called just before the measured run starts and just after it ends, to count what else happened during it. */
  window?: { start(): Promise<void>; end(): Promise<void> };
}

/**
 * The pause between the warm-up and the measured run. autocannon closes its connections when a run ends, leaving the
 * requests then in flight to the server: without the pause they overlap the first requests of the measured run (up
 * to twice the in-flight pushes for ~100 ms, enough to go over `inflight_request_limit` with 48 × 10 devices and get
 * 503s), and their pushes were counted in the measured run's.
 */
const SETTLE_MS = 500;
/** With `warmOnSameConnections`: the time the load is given to open its connections before `beforeWarmup`. */
const CONNECT_MS = 500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function measure(target: MeasureTarget, options: LoadOptions): Promise<Measured> {
  if (target.warmupS > 0 && !target.warmOnSameConnections) {
    await runLoad({ ...options, durationS: target.warmupS });
    await sleep(SETTLE_MS);
  }
  const startSampling = async () => {
    await target.sandbox?.zeroCounters();
    await target.window?.start();
    const attackerPid = target.attackerPid?.();
    return {
      server: new TreeSampler(target.serverPid, 250),
      series: target.rssSeriesIntervalMs ? new TreeSampler(target.serverPid, target.rssSeriesIntervalMs) : undefined,
      sandbox: target.sandbox ? new TreeSampler(target.sandbox.pid, 250) : undefined,
      attacker: attackerPid ? new TreeSampler(attackerPid, 250) : undefined,
      redis: target.redisPid ? new TreeSampler(target.redisPid, 250) : undefined,
      self: selfCpu(),
      machine: machineCpu(),
    };
  };

  let sampling: ReturnType<typeof startSampling> | undefined;
  let load: LoadResult;
  if (target.warmOnSameConnections) {
    let count!: () => void;
    const countFrom = new Promise<void>((resolve) => (count = resolve));
    const loading = runLoad({ ...options, countFrom, onCounting: () => (sampling = startSampling()) });
    loading.catch(() => {});
    await sleep(CONNECT_MS);
    await target.beforeWarmup?.();
    await sleep(target.warmupS * 1000);
    count();
    load = await loading;
  } else {
    sampling = startSampling();
    await sampling;
    load = await runLoad(options);
  }
  const { server, series, sandbox, attacker, redis, self, machine } = await sampling!;

  const loadGeneratorCpuPercent = self();
  const machineCpuPercent = machine();
  const serverUsage = server.stop();
  const sandboxUsage = sandbox?.stop();
  const attackerUsage = attacker?.stop();
  const redisUsage = redis?.stop();
  const seriesUsage: TreeUsage | undefined = series?.stop();
  await target.window?.end();
  const sandboxStats = target.sandbox ? await target.sandbox.stats() : undefined;
  return {
    load,
    usage: {
      server: {
        peakRssMb: round(serverUsage.peakRssMb, 1),
        endRssMb: round(serverUsage.endRssMb, 1),
        cpuPercent: round(serverUsage.cpuPercent, 1),
        processes: serverUsage.maxProcesses,
      },
      sandboxCpuPercent: sandboxUsage ? round(sandboxUsage.cpuPercent, 1) : null,
      ...(attackerUsage ? { attackerCpuPercent: round(attackerUsage.cpuPercent, 1) } : {}),
      ...(redisUsage ? { redisCpuPercent: round(redisUsage.cpuPercent, 1) } : {}),
      loadGeneratorCpuPercent: round(loadGeneratorCpuPercent, 1),
      machineCpuPercent: round(machineCpuPercent, 1),
      otherCpuPercent: round(
        Math.max(
          0,
          machineCpuPercent * cpus().length -
            serverUsage.cpuPercent -
            (sandboxUsage?.cpuPercent ?? 0) -
            (attackerUsage?.cpuPercent ?? 0) -
            (redisUsage?.cpuPercent ?? 0) -
            loadGeneratorCpuPercent,
        ),
        1,
      ),
      ...(seriesUsage
        ? { rssSamples: seriesUsage.samples.map((s) => ({ atS: round(s.atS, 1), rssMb: round(s.rssMb, 1) })) }
        : {}),
    },
    sandboxPushes: sandboxStats ? sandboxStats[0]![target.provider ?? "apns"].received : null,
  };
}
