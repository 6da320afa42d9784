/** The token buckets behind the rate limits (src/core/rateLimiter.ts), on a clock the test moves. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RateLimiter, type RateLimit } from "../src/core/rateLimiter.js";

function limiter(limit: RateLimit, maxKeys = 1000) {
  const clock = { ms: 0 };
  return { clock, limiter: new RateLimiter(limit, maxKeys, () => clock.ms) };
}

describe("RateLimiter", () => {
  test("allows a burst of `requests`, then refuses with the whole seconds until a token is back", () => {
    const { limiter: limits } = limiter({ requests: 3, periodSeconds: 60 });
    for (let i = 0; i < 3; i++) assert.deepEqual(limits.take("a"), { allowed: true });
    // One token every 20 s.
    assert.deepEqual(limits.take("a"), { allowed: false, retryAfterSeconds: 20 });
  });

  test("refills at `requests` per period, never above `requests`; a refusal takes nothing", () => {
    const { clock, limiter: limits } = limiter({ requests: 2, periodSeconds: 10 });
    limits.take("a");
    limits.take("a");
    clock.ms = 2000;
    // One token every 5 s: 3 s to go, and asking again does not push it further away.
    assert.deepEqual(limits.take("a"), { allowed: false, retryAfterSeconds: 3 });
    assert.deepEqual(limits.take("a"), { allowed: false, retryAfterSeconds: 3 });
    clock.ms = 4500;
    assert.deepEqual(limits.take("a"), { allowed: false, retryAfterSeconds: 1 });
    clock.ms = 5000;
    assert.deepEqual(limits.take("a"), { allowed: true });
    assert.equal(limits.take("a").allowed, false);
    // An hour idle fills the bucket, to its size and no more.
    clock.ms += 3_600_000;
    assert.equal(limits.take("a").allowed, true);
    assert.equal(limits.take("a").allowed, true);
    assert.equal(limits.take("a").allowed, false);
  });

  test("keys have buckets of their own", () => {
    const { limiter: limits } = limiter({ requests: 1, periodSeconds: 60 });
    assert.equal(limits.take("a").allowed, true);
    assert.equal(limits.take("a").allowed, false);
    assert.equal(limits.take("b").allowed, true);
  });

  test("holds at most maxKeys keys however many come; the least recently used goes, and starts full again", () => {
    const { limiter: limits } = limiter({ requests: 1, periodSeconds: 3600 }, 100);
    limits.take("kept");
    limits.take("evicted");
    for (let i = 0; i < 10_000; i++) {
      // "kept" is used all along, so it stays; "evicted" is not.
      if (i % 50 === 0) assert.equal(limits.take("kept").allowed, false);
      limits.take(`attacker-${i}`);
      assert.ok(limits.size <= 100, `${limits.size} keys`);
    }
    assert.equal(limits.size, 100);
    assert.equal(limits.take("kept").allowed, false);
    assert.equal(limits.take("evicted").allowed, true, "a forgotten key starts with a full bucket");
  });

  test("refuses a limit it cannot enforce", () => {
    assert.throws(() => new RateLimiter({ requests: 0, periodSeconds: 60 }, 10), RangeError);
    assert.throws(() => new RateLimiter({ requests: 1, periodSeconds: 0 }, 10), RangeError);
    assert.throws(() => new RateLimiter({ requests: 1, periodSeconds: 1 }, 0), RangeError);
  });
});
