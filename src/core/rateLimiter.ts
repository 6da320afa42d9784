/**
 * Rate limits by key (a client address, a push's recipient): a token bucket per key, holding at most `requests`
 * tokens and refilled at `requests` per `period`. A request takes a token; without one it is refused, and told how
 * long until its bucket holds one again. A bucket thus allows a burst of `requests`, then `requests` per `period`.
 *
 * A bucket is kept as one number, the time at which it will be full again (as in GCRA, the generic cell rate
 * algorithm): each request pushes that time one token's worth (`period / requests`) into the future, and a request
 * that would push it further than a whole bucket ahead of now is refused.
 *
 * The keys are chosen by whoever sends the requests, so their number is bounded: past `maxKeys` the least recently
 * used key is forgotten, and a forgotten key starts again with a full bucket. The least recently used buckets are
 * the likeliest to have filled up again anyway; to step around a limit by eviction, a client would have to send
 * requests under `maxKeys` other keys between two of its own.
 */

export interface RateLimit {
  /** The burst, and how many requests each `periodSeconds` allows after it; at least 1. */
  requests: number;
  periodSeconds: number;
}

export type Admission = { allowed: true } | { allowed: false; retryAfterSeconds: number };

const ALLOWED: Admission = { allowed: true };

export class RateLimiter {
  /** When each key's bucket is full again, in the clock's milliseconds; the least recently used key first. */
  private readonly fullAt = new Map<string, number>();
  private readonly tokenMs: number;
  private readonly bucketMs: number;

  constructor(
    limit: RateLimit,
    private readonly maxKeys: number,
    /** Milliseconds; monotonic, so that setting the machine's clock neither fills nor empties the buckets. */
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(limit.requests >= 1) || !(limit.periodSeconds > 0) || !(maxKeys >= 1)) {
      throw new RangeError("a rate limit needs requests ≥ 1, a period > 0 and maxKeys ≥ 1");
    }
    this.bucketMs = limit.periodSeconds * 1000;
    this.tokenMs = this.bucketMs / limit.requests;
  }

  /** Takes a token from `key`'s bucket, or says how many whole seconds until it holds one. */
  take(key: string): Admission {
    const now = this.now();
    const fullAt = Math.max(this.fullAt.get(key) ?? now, now) + this.tokenMs;
    const overMs = fullAt - now - this.bucketMs;
    // Used now: to the back of the eviction order.
    this.fullAt.delete(key);
    if (overMs > 0) {
      this.remember(key, fullAt - this.tokenMs);
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(overMs / 1000)) };
    }
    this.remember(key, fullAt);
    return ALLOWED;
  }

  /** How many keys have a bucket. */
  get size(): number {
    return this.fullAt.size;
  }

  private remember(key: string, fullAt: number): void {
    this.fullAt.set(key, fullAt);
    if (this.fullAt.size > this.maxKeys) {
      const oldest = this.fullAt.keys().next().value as string;
      this.fullAt.delete(oldest);
    }
  }
}
