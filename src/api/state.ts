import type { Logger } from "pino";

/** What the request-context middleware gives every later middleware in `ctx.state`. */
export interface RequestState {
  readonly requestId: string;
  /** A child logger whose every line carries the request id; made on first use (most requests log one line). */
  readonly log: Logger;
}

/** Shared by the whole server: flips once, when shutdown begins. */
export interface Lifecycle {
  shuttingDown: boolean;
}
