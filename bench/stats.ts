/** Small statistics helpers: percentiles of recorded latencies, and a least-squares slope. */

/** Float latencies in ms, appended without reallocating for every value. */
export class LatencyRecorder {
  private values = new Float64Array(1 << 16);
  private length = 0;

  record(ms: number): void {
    if (this.length === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.length++] = ms;
  }

  get count(): number {
    return this.length;
  }

  /** Nearest-rank percentiles, e.g. percentiles([50, 99, 99.9]); NaN when nothing was recorded. */
  percentiles(ps: number[]): number[] {
    const sorted = this.values.slice(0, this.length).sort();
    return ps.map((p) => {
      if (sorted.length === 0) return NaN;
      const rank = Math.ceil((p / 100) * sorted.length);
      return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
    });
  }
}

/** Slope of the least-squares line through (x, y) points; NaN with fewer than two distinct x. */
export function leastSquaresSlope(points: { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return NaN;
  const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
  let covariance = 0;
  let varianceX = 0;
  for (const p of points) {
    covariance += (p.x - meanX) * (p.y - meanY);
    varianceX += (p.x - meanX) ** 2;
  }
  return varianceX === 0 ? NaN : covariance / varianceX;
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
