/**
 * Structured JSON logs (pino). One child logger per request carries its `request_id` on every line.
 * Pushkeys are device tokens: they reach the logs only through `shortPushkey`, and secrets never do.
 */
import { pino, stdTimeFunctions, type DestinationStream, type LevelWithSilent, type Logger } from "pino";

export type { Logger };

export function createLogger(level: LevelWithSilent, destination?: DestinationStream): Logger {
  return pino(
    {
      name: "herald",
      level,
      timestamp: stdTimeFunctions.isoTime,
      // Defence in depth: should a credential end up in a logged object, it is masked.
      redact: {
        paths: ["*.api_key", "*.client_secret", "*.private_key", "*.password", "*.authorization", "*.Authorization"],
        censor: "[redacted]",
      },
    },
    destination,
  );
}

/** At most a quarter of the pushkey and never more than 8 characters: enough to match a pusher, not to use it. */
export function shortPushkey(pushkey: string): string {
  return `${pushkey.slice(0, Math.min(8, Math.floor(pushkey.length / 4)))}…`;
}
