import type { Logger } from "pino";
import type { TraceParent } from "../observability/spans.js";

/** What the request-context middleware gives every later middleware in `ctx.state`. */
export interface RequestState {
  readonly requestId: string;
  /** A child logger whose every line carries the request id; made on first use (most requests log one line). */
  readonly log: Logger;
  /** The request's span, set when tracing is on and the surface is traced (/notify, /push, /clients). */
  trace?: TraceParent;
}

/** Shared by the whole server: flips once, when shutdown begins. */
export interface Lifecycle {
  shuttingDown: boolean;
}
