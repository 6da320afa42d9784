/**
 * How hard-pressed this process is, read cheaply on every request: event-loop lag (sampled by a timer, the worst
 * of the last second) and the V8 heap's use against its limit, sampled by the same timer. Load shedding answers 503 before either grows into
 * timeouts or an out-of-memory crash.
 */
import { getHeapStatistics } from "node:v8";

const SAMPLE_EVERY_MS = 100;
const REMEMBER_MS = 1000;

export class Pressure {
  private readonly timer: NodeJS.Timeout;
  private worstLagMs = 0;
  private worstLagAt = 0;
  private heapFraction = 0;

  constructor(private readonly now: () => number = () => performance.now()) {
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

  stop(): void {
    clearInterval(this.timer);
  }
}
