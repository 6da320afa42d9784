/**
 * A pushkin's circuit breaker. After `failureThreshold` transient failures in a row (the provider unreachable,
 * hanging, answering 5xx or 429), the circuit opens: for `coolDownMs`, pushes to that provider fail at once (502 with
 * `Retry-After`) instead of holding requests and in-flight slots for a whole deadline each. Then one probe at a time
 * is let through (half-open): an answer closes the circuit, another transient failure opens it again.
 *
 * Anything the provider answered that is not a transient failure (delivered, a dead token, refused credentials) shows
 * that it is reachable and closes the circuit. A push that never reached the provider (nothing to send) changes
 * nothing.
 */
export type CircuitState = "closed" | "open" | "half-open";

export interface CircuitBreakerOptions {
  failureThreshold: number;
  coolDownMs: number;
  now?: () => number;
  /** Told of every change of state, for logs and metrics. */
  onChange?: (state: CircuitState, consecutiveFailures: number) => void;
}

/** How one push that was let through ended, as far as the provider's health goes. */
export type CallResult = "answered" | "transient-failure" | "not-sent";

export type Pass = { allowed: true; done: (result: CallResult) => void } | { allowed: false; retryAfterMs: number };

export class CircuitBreaker {
  private state: CircuitState = "closed";
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  get current(): CircuitState {
    return this.state;
  }

  /** Whether a push now would be refused: open with its cool-down still running, or half-open with its probe out. */
  get refusing(): boolean {
    if (this.state === "open") return this.now() < this.openedAt + this.options.coolDownMs;
    return this.state === "half-open" && this.probing;
  }

  /** Whether a push may go to the provider now; when it may, `done` must be called once with how it ended. */
  pass(): Pass {
    if (this.state === "open") {
      const retryAfterMs = this.openedAt + this.options.coolDownMs - this.now();
      if (retryAfterMs > 0) return { allowed: false, retryAfterMs };
      this.change("half-open");
    }
    if (this.state === "half-open") {
      if (this.probing) return { allowed: false, retryAfterMs: this.options.coolDownMs };
      this.probing = true;
      return { allowed: true, done: once((result) => this.probeEnded(result)) };
    }
    return { allowed: true, done: once((result) => this.callEnded(result)) };
  }

  private callEnded(result: CallResult): void {
    if (result === "answered") this.failures = 0;
    else if (result === "transient-failure" && this.state === "closed") {
      this.failures++;
      if (this.failures >= this.options.failureThreshold) this.open();
    }
  }

  private probeEnded(result: CallResult): void {
    this.probing = false;
    if (result === "answered") {
      this.failures = 0;
      this.change("closed");
    } else if (result === "transient-failure") {
      this.failures++;
      this.open();
    }
  }

  private open(): void {
    this.openedAt = this.now();
    this.change("open");
  }

  private change(state: CircuitState): void {
    if (this.state === state) return;
    this.state = state;
    this.options.onChange?.(state, this.failures);
  }
}

function once(fn: (result: CallResult) => void): (result: CallResult) => void {
  let called = false;
  return (result) => {
    if (called) return;
    called = true;
    fn(result);
  };
}
