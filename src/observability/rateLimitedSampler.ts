/**
 * Jaeger's `ratelimiting` sampler for the traces Herald starts: at most `perSecond` of them a second, with a burst of
 * one second's worth (at least one trace), as a Jaeger client's leaky bucket keeps them.
 */
import type { Sampler, SamplingResult } from "@opentelemetry/sdk-trace-base";
import { SamplingDecision } from "@opentelemetry/sdk-trace-base";

export class RateLimitedSampler implements Sampler {
  private readonly capacity: number;
  private credits: number;
  private last = performance.now();

  constructor(private readonly perSecond: number) {
    this.capacity = Math.max(perSecond, 1);
    this.credits = this.capacity;
  }

  shouldSample(): SamplingResult {
    const now = performance.now();
    this.credits = Math.min(this.capacity, this.credits + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.credits < 1) return { decision: SamplingDecision.NOT_RECORD };
    this.credits -= 1;
    return { decision: SamplingDecision.RECORD_AND_SAMPLED };
  }

  toString(): string {
    return `RateLimitedSampler{${this.perSecond}/s}`;
  }
}
