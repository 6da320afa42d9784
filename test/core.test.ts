/** Small core mechanisms: backoff inside a deadline, refreshing tokens, the max_connections semaphore. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TemporaryFailure } from "../src/core/pushkin.js";
import { RefreshingToken } from "../src/core/refreshingToken.js";
import { backoffDelay, withRetries } from "../src/core/retry.js";
import { Semaphore } from "../src/core/semaphore.js";
import { within } from "./helpers/waitFor.js";

const policy = { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 1000 };
const ctx = () => ({ deadline: Date.now() + 5000, signal: new AbortController().signal });

describe("withRetries", () => {
  test("retries temporary failures up to maxAttempts, then throws the last", async () => {
    let attempts = 0;
    await assert.rejects(
      withRetries(policy, ctx(), async () => {
        attempts++;
        throw new TemporaryFailure(`try ${attempts}`);
      }),
      /try 3/,
    );
    assert.equal(attempts, 3);
  });
  test("returns as soon as an attempt succeeds", async () => {
    let attempts = 0;
    const result = await withRetries(policy, ctx(), async () => {
      if (++attempts < 2) throw new TemporaryFailure("once");
      return "ok";
    });
    assert.equal(result, "ok");
    assert.equal(attempts, 2);
  });
  test("does not retry other errors", async () => {
    let attempts = 0;
    await assert.rejects(
      withRetries(policy, ctx(), async () => {
        attempts++;
        throw new Error("bug");
      }),
    );
    assert.equal(attempts, 1);
  });
  test("does not start a wait that would end after the deadline; Retry-After counts", async () => {
    let attempts = 0;
    await assert.rejects(
      withRetries(policy, { deadline: Date.now() + 500, signal: new AbortController().signal }, async () => {
        attempts++;
        throw new TemporaryFailure("busy", { retryAfter: 30 });
      }),
      (error: unknown) =>
        error instanceof TemporaryFailure && error.retryAfter === 30 && /no time left/.test(error.message),
    );
    assert.equal(attempts, 1);
  });
  test("a wait is cut short when the request is aborted", async () => {
    const controller = new AbortController();
    const pending = withRetries(
      { maxAttempts: 2, baseDelayMs: 60_000, maxDelayMs: 60_000 },
      { deadline: Date.now() + 120_000, signal: controller.signal },
      async () => {
        throw new TemporaryFailure("down");
      },
    );
    controller.abort(new TemporaryFailure("deadline"));
    await assert.rejects(pending, /deadline/);
  });
});

describe("backoffDelay", () => {
  test("doubles per attempt up to the cap, with jitter in the upper half", () => {
    assert.equal(
      backoffDelay(policy, 1, () => 0),
      5,
    );
    assert.equal(
      backoffDelay(policy, 1, () => 1),
      10,
    );
    assert.equal(
      backoffDelay(policy, 3, () => 1),
      40,
    );
    assert.equal(
      backoffDelay(policy, 20, () => 1),
      1000,
    );
  });
});

describe("RefreshingToken", () => {
  test("reuses a token until it is due, issues one at a time, and refuses early renewal", async () => {
    let clock = 0;
    let issued = 0;
    const token = new RefreshingToken({
      now: () => clock,
      minAgeMs: 100,
      issue: async () => ({ value: `t${++issued}`, renewAt: clock + 1000 }),
    });
    assert.deepEqual(await Promise.all([token.get(), token.get()]), ["t1", "t1"]);
    clock = 50;
    assert.equal(token.renew(), false, "too young");
    assert.equal(await token.get(), "t1");
    clock = 150;
    assert.equal(token.renew(), true);
    assert.equal(await token.get(), "t2");
    clock = 2000;
    assert.equal(await token.get(), "t3", "due");
  });
});

describe("Semaphore", () => {
  const never = () => new AbortController().signal;

  test("a waiter whose signal aborts leaves the line: rejected with the reason, and the slot goes to the next", async () => {
    const slots = new Semaphore(1);
    await slots.acquire(never());
    const gaveUp = new AbortController();
    const first = slots.acquire(gaveUp.signal);
    const second = slots.acquire(never());
    assert.equal(slots.pending, 2);

    const reason = new Error("the request deadline passed");
    gaveUp.abort(reason);
    await assert.rejects(first, (error) => error === reason);
    assert.equal(slots.pending, 1);

    // Handed to a waiter that gave up, the slot would be lost and the second would wait for good.
    slots.release();
    await within("the slot reaches the waiter behind the one that gave up", second);
    slots.release();
    await within("a free slot after both are done", slots.acquire(never()));
  });

  test("an already aborted signal is refused without waiting or taking a slot", async () => {
    const slots = new Semaphore(1);
    const reason = new Error("too late");
    await assert.rejects(slots.acquire(AbortSignal.abort(reason)), (error) => error === reason);
    await within("the slot is still free", slots.acquire(never()));
  });
});
