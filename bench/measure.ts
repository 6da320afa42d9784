/**
 * One measured load run: a warm-up that is not counted, a pause of 0.5 s, then the measured run while /proc is
 * sampled for the server under test (Herald with its workers, or the bare server), the sandbox, the abuse scenario's
 * attacker, this process (the load generator) and the whole machine.
 */
import { cpus } from "node:os";
import { runLoad, type LoadOptions, type LoadResult } from "./load.js";
import { machineCpu, selfCpu, TreeSampler, type TreeUsage } from "./procStats.js";
import type { SandboxProcess } from "./processes.js";
import type { Provider } from "./sandboxProcess.js";
import { round } from "./stats.js";

export interface Usage {
  /** The server under test: peak RSS summed over its processes (MB), CPU % of one core. */
  server: { peakRssMb: number; endRssMb: number; cpuPercent: number; processes: number };
  sandboxCpuPercent: number | null;
  /** The abuse scenario's attacker process, when there is one. */
  attackerCpuPercent?: number;
  loadGeneratorCpuPercent: number;
  /** Both cores busy = 100%. */
  machineCpuPercent: number;
  /**
   * CPU used by everything else on the machine (% of one core): the machine's busy time less the server's, the
   * sandbox's, the attacker's and the load generator's. Other work on a shared machine shows here; the run is then
   * less reliable.
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
  /** The abuse scenario's attacker, whose CPU is sampled like the sandbox's. */
  attackerPid?: number;
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

export async function measure(target: MeasureTarget, options: LoadOptions): Promise<Measured> {
  if (target.warmupS > 0) {
    await runLoad({ ...options, durationS: target.warmupS });
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  }
  await target.sandbox?.zeroCounters();
  await target.window?.start();
  const server = new TreeSampler(target.serverPid, 250);
  const series = target.rssSeriesIntervalMs ? new TreeSampler(target.serverPid, target.rssSeriesIntervalMs) : undefined;
  const sandbox = target.sandbox ? new TreeSampler(target.sandbox.pid, 250) : undefined;
  const attacker = target.attackerPid ? new TreeSampler(target.attackerPid, 250) : undefined;
  const self = selfCpu();
  const machine = machineCpu();

  const load = await runLoad(options);

  const loadGeneratorCpuPercent = self();
  const machineCpuPercent = machine();
  const serverUsage = server.stop();
  const sandboxUsage = sandbox?.stop();
  const attackerUsage = attacker?.stop();
  await target.window?.end();
  const seriesUsage: TreeUsage | undefined = series?.stop();
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
      loadGeneratorCpuPercent: round(loadGeneratorCpuPercent, 1),
      machineCpuPercent: round(machineCpuPercent, 1),
      otherCpuPercent: round(
        Math.max(
          0,
          machineCpuPercent * cpus().length -
            serverUsage.cpuPercent -
            (sandboxUsage?.cpuPercent ?? 0) -
            (attackerUsage?.cpuPercent ?? 0) -
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
