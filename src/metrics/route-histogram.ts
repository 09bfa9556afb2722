import type { Registry } from 'prom-client';

/** One labelled series: plain numbers, bumped in place. */
export interface HistogramSeries {
  readonly labels: Readonly<Record<string, string>>;
  /** Observations per bucket (not cumulative), one slot per upper bound. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

interface ExportedValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/**
 * A histogram for the request path, registered in a prom-client Registry like any other metric (same text
 * format). prom-client's own labelled `observe` rebuilds and validates the label object and hashes it on every
 * call, even through a child from `labels()`; here a series is made once (per route, method and status class)
 * and an observation is a bucket search and three additions, nothing allocated.
 */
export class RouteHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series: HistogramSeries[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly upperBounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /** A new series (exported from its first observation on). */
  create(labels: Record<string, string>): HistogramSeries {
    const series: HistogramSeries = {
      labels: Object.freeze({ ...labels }),
      counts: new Float64Array(this.upperBounds.length),
      sum: 0,
      count: 0,
    };
    this.series.push(series);
    return series;
  }

  observe(series: HistogramSeries, value: number): void {
    const bounds = this.upperBounds;
    for (let i = 0; i < bounds.length; i++)
      if (value <= bounds[i]) {
        series.counts[i]++;
        break;
      }
    series.sum += value;
    series.count++;
  }

  /** What prom-client's Registry renders (the shape its own Histogram returns). */
  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: ExportedValue[] }> {
    const values: ExportedValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.series) {
      if (s.count === 0) continue;
      let acc = 0;
      for (let i = 0; i < this.upperBounds.length; i++) {
        acc += s.counts[i];
        values.push({ labels: { le: this.upperBounds[i], ...s.labels }, value: acc, metricName: bucket });
      }
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: bucket });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    });
  }

  reset(): void {
    for (const s of this.series) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}
