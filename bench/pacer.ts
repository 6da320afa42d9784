/**
 * Open-loop pacing for autocannon: requests leave at evenly spaced moments (one every 1000/rate ms), whichever
 * connection is free takes the next moment.
 *
 * autocannon's own `overallRate` is not used: it gives each connection a quota per second, started at the same
 * moment for every connection, so each connection sends its quota back to back at the start of every second and
 * then waits. That is a closed loop at full speed for part of each second, not a fixed rate, and its latencies
 * are those of the burst. Here every connection's `_doRequest` (autocannon 9's internal "send the next request")
 * waits for its slot instead.
 *
 * When no connection is free at a slot's moment, the request leaves late; the lag is added to its latency
 * (coordinated omission is not hidden) and counted.
 */
import type autocannon from "autocannon";

interface ClientInternals {
  _doRequest: () => void;
  destroyed: boolean;
}

export class Pacer {
  private readonly intervalMs: number;
  private next = NaN;
  private readonly lag = new WeakMap<object, number>();
  /** Requests that left more than 1 ms after their slot. */
  lateSends = 0;
  maxLagMs = 0;

  constructor(readonly rate: number) {
    this.intervalMs = 1000 / rate;
  }

  /** For autocannon's `setupClient`. */
  readonly setupClient = (client: autocannon.Client): void => {
    const internals = client as unknown as ClientInternals;
    if (typeof internals._doRequest !== "function") {
      throw new Error("autocannon's Client._doRequest is gone: the pacer needs updating for this autocannon version");
    }
    const send = internals._doRequest.bind(client);
    internals._doRequest = () => {
      if (Number.isNaN(this.next)) this.next = performance.now();
      const slot = this.next;
      this.next += this.intervalMs;
      const wait = slot - performance.now();
      const go = () => {
        if (internals.destroyed) return;
        const lag = Math.max(0, performance.now() - slot);
        if (lag > 1) this.lateSends++;
        this.maxLagMs = Math.max(this.maxLagMs, lag);
        // Timer wake-up delay below 1 ms is the load generator's, not the server's.
        this.lag.set(client, lag > 1 ? lag : 0);
        send();
      };
      if (wait <= 0) go();
      else setTimeout(go, wait);
    };
  };

  /** The lag of the request this client has in flight, to add to its response time. */
  lagOf(client: object): number {
    return this.lag.get(client) ?? 0;
  }
}
