/**
 * Herald's Prometheus metrics as the benchmark reads them: what its counters moved by during a measured run, and its
 * open connections sampled through it. Read from the metrics listener (`metrics.prometheus`), a few times a run, so
 * that reading them costs Herald next to nothing.
 */

/** Every sample of the exposition, by series (`name{labels}` as written, or `name`). */
export type Samples = Map<string, number>;

export async function scrape(metricsUrl: string): Promise<Samples> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const samples: Samples = new Map();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/**
 * What the counter `name` moved by from `start` to `end`, by series (its labels, e.g.
 * `reason=concurrent_requests,surface=public`); the series that did not move are left out.
 */
export function counterDeltas(start: Samples, end: Samples, name: string): Record<string, number> {
  const deltas: Record<string, number> = {};
  for (const [series, value] of end) {
    const labels = series === name ? "" : series.startsWith(`${name}{`) ? series.slice(name.length + 1, -1) : undefined;
    if (labels === undefined) continue;
    const delta = value - (start.get(series) ?? 0);
    if (delta !== 0) deltas[labels.replaceAll(`"`, "")] = delta;
  }
  return deltas;
}

export interface GaugeStats {
  mean: number;
  min: number;
  max: number;
  samples: number;
}

/** Samples one gauge every `everyMs` until stopped (and once at the start and at the stop). */
export class GaugeSampler {
  private readonly values: number[] = [];
  private readonly timer: NodeJS.Timeout;
  private reading: Promise<void> = Promise.resolve();

  constructor(
    private readonly metricsUrl: string,
    private readonly name: string,
    everyMs: number,
  ) {
    this.read();
    this.timer = setInterval(() => this.read(), everyMs);
  }

  private read(): void {
    this.reading = this.reading
      .then(() => scrape(this.metricsUrl))
      .then((samples) => void this.values.push(samples.get(this.name) ?? 0))
      .catch(() => {});
  }

  async stop(): Promise<GaugeStats> {
    clearInterval(this.timer);
    this.read();
    await this.reading;
    const { values } = this;
    return {
      mean: values.length ? Math.round(values.reduce((a, b) => a + b, 0) / values.length) : NaN,
      min: Math.min(...values),
      max: Math.max(...values),
      samples: values.length,
    };
  }
}
