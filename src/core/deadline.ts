/**
 * One request's deadline, provider retries included: an AbortSignal that aborts when it passes (with a
 * TemporaryFailure as its reason), the epoch milliseconds it stands for, and a promise that rejects then, to race a
 * send that does not stop by itself.
 */
import { defaultMaxListeners, setMaxListeners } from "node:events";
import { TemporaryFailure } from "./pushkin.js";

export interface Deadline {
  readonly signal: AbortSignal;
  /** Epoch milliseconds after which no more attempts start. */
  readonly at: number;
  /** Rejects with the abort reason when the deadline passes; never unhandled. */
  readonly passed: Promise<never>;
  /** Stops the timer once the request is answered. */
  clear(): void;
}

/**
 * How many listeners a device in flight may hold on the signal at once: one while it waits for a connection, one for
 * its request, one while it waits for a slot or a retry.
 */
export const LISTENERS_PER_DEVICE = 3;

/**
 * `listeners`: how many may listen to the signal at once. Past Node's threshold (ten) the limit is lifted, or Node
 * warns of a leak; only then, since lifting it costs more than the rest of a deadline.
 */
export function startDeadline(seconds: number, listeners = LISTENERS_PER_DEVICE): Deadline {
  const controller = new AbortController();
  if (listeners > defaultMaxListeners) setMaxListeners(0, controller.signal);
  let reject!: (reason: unknown) => void;
  const passed = new Promise<never>((_, rejectPassed) => (reject = rejectPassed));
  passed.catch(() => {});
  const timer = setTimeout(() => {
    const why = `the request deadline of ${seconds}s passed`;
    controller.abort(new TemporaryFailure(why, { publicReason: why }));
    reject(controller.signal.reason);
  }, seconds * 1000);
  return { signal: controller.signal, at: Date.now() + seconds * 1000, passed, clear: () => clearTimeout(timer) };
}
