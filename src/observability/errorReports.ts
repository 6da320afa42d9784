/**
 * Unexpected errors — the bugs behind a 500 on `/notify`, a start-up that fails for a reason Herald did not foresee —
 * reported to Sentry when `metrics.sentry` is enabled with a DSN: each once, tagged with the `request_id` its log lines
 * carry. The SDK (`./sentry.ts`) is imported only then, so a Herald without Sentry loads none of it.
 */
import type { Logger } from "pino";
import type { ProxyConfig } from "../config/proxy.js";
import type { SentryConfig } from "../config/types.js";

export interface ErrorReport {
  /** The request's (or the process's) logger: its `request_id`, `pushkin` and `worker` become the event's tags. */
  log: Logger;
  tags?: Record<string, string>;
  /** What the event must never carry (the request's pushkeys): shortened wherever the error's text holds them. */
  secrets?: readonly string[];
}

export interface ErrorReports {
  unexpected(error: unknown, report: ErrorReport): void;
  /** Sends what is still queued, for at most `timeoutMs`, then stops. */
  close(timeoutMs: number): Promise<void>;
}

export const NO_ERROR_REPORTS: ErrorReports = {
  unexpected() {},
  async close() {},
};

/** Sentry's client when `metrics.sentry` says so; else reports that go nowhere. */
export async function openErrorReports(
  sentry: SentryConfig,
  proxy: ProxyConfig | undefined,
  log: Logger,
): Promise<ErrorReports> {
  if (!sentry.enabled || sentry.dsn === undefined) return NO_ERROR_REPORTS;
  let sdk: typeof import("./sentry.js");
  try {
    sdk = await import("./sentry.js");
  } catch (error) {
    throw new Error(`metrics.sentry: cannot load Sentry's SDK, @sentry/node: ${(error as Error).message}`);
  }
  return sdk.sentryReports(sentry.dsn, proxy, log);
}
