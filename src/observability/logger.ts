/**
 * Structured JSON logs (pino). One child logger per request carries its `request_id` on every line.
 * Pushkeys are device tokens: they reach the logs only through `shortPushkey`. Secrets are never passed to a logger
 * (no config object or request header is logged), which is cheaper than masking them on every line.
 */
import { pino, stdTimeFunctions, type DestinationStream, type LevelWithSilent, type Logger } from "pino";

export type { Logger };

export function createLogger(level: LevelWithSilent, destination: DestinationStream = stdout()): Logger {
  return pino(
    {
      name: "herald",
      level,
      timestamp: stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/**
 * Standard output, written asynchronously: lines logged while a write is under way go out together in the next one,
 * so that a busy gateway makes one write for many access-log lines instead of one each. What is still queued is
 * written before the process exits.
 */
function stdout(): DestinationStream {
  const destination = pino.destination({ dest: 1, sync: false });
  process.once("exit", () => destination.flushSync());
  return destination;
}

/** At most a quarter of the pushkey and never more than 8 characters: enough to match a pusher, not to use it. */
export function shortPushkey(pushkey: string): string {
  return `${pushkey.slice(0, Math.min(8, Math.floor(pushkey.length / 4)))}…`;
}
