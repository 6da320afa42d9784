/**
 * Samples a process and its descendants (Herald's workers, if any) from /proc: resident memory (VmRSS, summed over
 * the tree) and CPU time (utime + stime of the tree, plus the cutime + cstime of its root, so that a worker that
 * exits and is reaped keeps counting). CPU % = ticks / (elapsed s × CLK_TCK) × 100; 100% is one core.
 */
import { readdirSync, readFileSync } from "node:fs";

const CLK_TCK = 100;
const PAGE_KB = 4;

interface StatLine {
  ppid: number;
  ticks: number;
  childTicks: number;
}

function readStat(pid: number): StatLine | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name may hold spaces and parentheses: the fields that follow start after the last ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
  const at = (field: number) => Number(fields[field - 3]);
  return { ppid: at(4), ticks: at(14) + at(15), childTicks: at(16) + at(17) };
}

function readRssKb(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    if (match) return Number(match[1]);
    // Kernel threads and zombies have no VmRSS line; statm's second field is resident pages.
    return Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1] ?? 0) * PAGE_KB;
  } catch {
    return 0;
  }
}

/** The pid and every descendant, found by scanning /proc for parent pids (task/children is not always built in). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(Number(entry));
    children.set(stat.ppid, list);
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!) ?? []));
  return tree;
}

export interface TreeSample {
  at: number;
  rssMb: number;
  ticks: number;
  processes: number;
}

export function sampleTree(root: number): TreeSample {
  const pids = processTree(root);
  let rssKb = 0;
  let ticks = 0;
  for (const pid of pids) {
    rssKb += readRssKb(pid);
    const stat = readStat(pid);
    if (stat) ticks += stat.ticks + (pid === root ? stat.childTicks : 0);
  }
  return { at: performance.now(), rssMb: rssKb / 1024, ticks, processes: pids.length };
}

export interface TreeUsage {
  peakRssMb: number;
  endRssMb: number;
  /** Of one core. */
  cpuPercent: number;
  maxProcesses: number;
  /** Every sample's RSS, for the soak. */
  samples: { atS: number; rssMb: number }[];
}

/** Samples every `intervalMs` until stop() is called. */
export class TreeSampler {
  private readonly first: TreeSample;
  private last: TreeSample;
  private peakRssMb: number;
  private maxProcesses: number;
  private readonly samples: { atS: number; rssMb: number }[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs = 250,
  ) {
    this.first = this.last = sampleTree(pid);
    this.peakRssMb = this.first.rssMb;
    this.maxProcesses = this.first.processes;
    this.samples.push({ atS: 0, rssMb: this.first.rssMb });
    this.timer = setInterval(() => this.take(), intervalMs);
  }

  private take(): void {
    const sample = sampleTree(this.pid);
    if (sample.processes === 0 || sample.rssMb === 0) return; // the process is gone
    this.last = sample;
    this.peakRssMb = Math.max(this.peakRssMb, sample.rssMb);
    this.maxProcesses = Math.max(this.maxProcesses, sample.processes);
    this.samples.push({ atS: (sample.at - this.first.at) / 1000, rssMb: sample.rssMb });
  }

  stop(): TreeUsage {
    clearInterval(this.timer);
    this.take();
    const elapsedS = (this.last.at - this.first.at) / 1000;
    return {
      peakRssMb: this.peakRssMb,
      endRssMb: this.last.rssMb,
      cpuPercent: elapsedS > 0 ? ((this.last.ticks - this.first.ticks) / (elapsedS * CLK_TCK)) * 100 : NaN,
      maxProcesses: this.maxProcesses,
      samples: this.samples,
    };
  }
}

/** CPU of this process (the load generator), over a span. */
export function selfCpu(): () => number {
  const started = performance.now();
  const usage = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(usage);
    return ((used.user + used.system) / 1000 / (performance.now() - started)) * 100;
  };
}

/** Share of both cores busy on the whole machine, over a span (from /proc/stat). */
export function machineCpu(): () => number {
  const read = () => {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { idle, total: fields.reduce((a, b) => a + b, 0) };
  };
  const start = read();
  return () => {
    const end = read();
    const total = end.total - start.total;
    return total > 0 ? (1 - (end.idle - start.idle) / total) * 100 : NaN;
  };
}
