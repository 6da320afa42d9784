/**
 * How hard-pressed this process is, read cheaply on every request: event-loop lag (sampled by a timer, the worst of
 * the last second), the V8 heap's use against its limit, and the process's resident memory against the memory it may
 * use, sampled by the same timer. Load shedding answers 503 before any of them grows into timeouts or a crash.
 *
 * Resident memory counts what the heap does not: the buffers of bodies being received, sockets, native allocations.
 */
import { totalmem } from "node:os";
import { getHeapStatistics } from "node:v8";

const SAMPLE_EVERY_MS = 100;
const REMEMBER_MS = 1000;

export class Pressure {
  private readonly timer: NodeJS.Timeout;
  private worstLagMs = 0;
  private worstLagAt = 0;
  private heapFraction = 0;
  private memoryFraction = 0;

  /** `memoryAvailable`: the bytes this process may use (`availableMemory()`). */
  constructor(
    private readonly memoryAvailable: number = availableMemory(1),
    private readonly now: () => number = () => performance.now(),
  ) {
    let expected = this.now() + SAMPLE_EVERY_MS;
    this.timer = setInterval(() => {
      const at = this.now();
      const lag = Math.max(0, at - expected);
      expected = at + SAMPLE_EVERY_MS;
      if (lag >= this.eventLoopLagMs()) {
        this.worstLagMs = lag;
        this.worstLagAt = at;
      }
      const heap = getHeapStatistics();
      this.heapFraction = heap.used_heap_size / heap.heap_size_limit;
      this.memoryFraction = process.memoryUsage.rss() / this.memoryAvailable;
    }, SAMPLE_EVERY_MS);
    this.timer.unref();
  }

  /** The worst event-loop lag seen in the last second, in ms. */
  eventLoopLagMs(): number {
    return this.now() - this.worstLagAt <= REMEMBER_MS ? this.worstLagMs : 0;
  }

  /** The V8 heap in use, as a fraction of the most it may grow to (sampled with the lag). */
  heapUsedFraction(): number {
    return this.heapFraction;
  }

  /** The resident memory, as a fraction of the memory available to the process (sampled with the lag). */
  memoryUsedFraction(): number {
    return this.memoryFraction;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * The memory one of `processes` may use: its share of the cgroup's limit (a container's memory limit), or of the
 * machine's memory when there is no lower limit.
 */
export function availableMemory(processes: number): number {
  const machine = totalmem();
  // 0, or a huge number, when no cgroup limit applies; the function is missing before Node 19.6.
  const constrained = process.constrainedMemory?.() ?? 0;
  const limit = constrained > 0 && constrained < machine ? constrained : machine;
  return limit / Math.max(1, processes);
}
