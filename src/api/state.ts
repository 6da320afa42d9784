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

/** The request-context middleware's `ctx.state`: a plain class, as cheap to make as an object literal. */
export class RequestContext implements RequestState {
  trace?: TraceParent;
  private child: Logger | undefined;

  constructor(
    readonly requestId: string,
    private readonly parent: Logger,
  ) {}

  get log(): Logger {
    return (this.child ??= this.parent.child({ request_id: this.requestId }));
  }
}

/** Shared by the whole server: flips once, when shutdown begins. */
export interface Lifecycle {
  shuttingDown: boolean;
}
