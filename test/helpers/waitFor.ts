/** Waiting for something that happens elsewhere (another process, a server, a timer), with a deadline. */
import { setTimeout as sleep } from "node:timers/promises";

type Truthy<T> = Exclude<T, false | 0 | "" | null | undefined>;

export interface WaitOptions {
  /** How long before the wait fails the test; generous, for a loaded 2-core machine. */
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Polls `condition` until it returns a truthy value, and returns that value. Fails with what it was waiting for when
 * the deadline passes, so that a test that would otherwise hang fails in seconds and says why.
 */
export async function waitFor<T>(
  what: string,
  condition: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 5 }: WaitOptions = {},
): Promise<Truthy<T>> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value as Truthy<T>;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/**
 * Settles with `promise`, or fails with `what` if it has not settled within `timeoutMs`: for an assertion that
 * something does not hang, raced against a generous timer rather than measured.
 */
export async function within<T>(what: string, promise: Promise<T>, timeoutMs = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not settled within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
