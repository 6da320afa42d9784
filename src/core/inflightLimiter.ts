/**
 * A pushkin's `inflight_request_limit`: how many devices it may be sending to at once. Beyond it Herald answers 503
 * at once instead of queueing work it cannot keep up with (Sygnal answers 502).
 */
export class InflightLimiter {
  private inflight = 0;

  constructor(readonly limit: number) {}

  /** Takes `count` slots, all or none. */
  tryAcquire(count: number): boolean {
    if (this.inflight + count > this.limit) return false;
    this.inflight += count;
    return true;
  }

  release(count = 1): void {
    this.inflight -= count;
  }

  get current(): number {
    return this.inflight;
  }
}
