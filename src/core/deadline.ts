/**
 * One request's deadline, provider retries included: an AbortSignal that aborts when it passes (with a
 * TemporaryFailure as its reason), the epoch milliseconds it stands for, and a promise that rejects then, to race a
 * send that does not stop by itself.
 */
import { setMaxListeners } from "node:events";
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

export function startDeadline(seconds: number): Deadline {
  const controller = new AbortController();
  // Every device in flight may listen to the signal: no limit, or Node warns of a leak past ten listeners.
  setMaxListeners(0, controller.signal);
  const timer = setTimeout(() => {
    const why = `the request deadline of ${seconds}s passed`;
    controller.abort(new TemporaryFailure(why, { publicReason: why }));
  }, seconds * 1000);
  const passed = new Promise<never>((_, reject) => {
    controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true });
  });
  passed.catch(() => {});
  return { signal: controller.signal, at: Date.now() + seconds * 1000, passed, clear: () => clearTimeout(timer) };
}
