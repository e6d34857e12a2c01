// Prometheus histograms rebuilt from scraped samples: quantiles (as histogram_quantile computes them) and CDFs.
import type { Sample } from '../prom-text.js';

export interface Histogram {
  /** Cumulative counts per upper bound, sorted by bound; the last bound is +Inf. */
  buckets: [number, number][];
  sum: number;
  count: number;
}

/** Sums the histogram `name` over every node, grouped by the given labels (key: label values joined by '/'). */
export function histogramsFrom(samples: Sample[], name: string, by: string[]): Map<string, Histogram> {
  const acc = new Map<string, { b: Map<number, number>; sum: number; count: number }>();
  const get = (labels: Record<string, string>) => {
    const k = by.map((l) => labels[l] ?? '').join('/');
    let e = acc.get(k);
    if (!e) {
      e = { b: new Map(), sum: 0, count: 0 };
      acc.set(k, e);
    }
    return e;
  };
  for (const s of samples) {
    if (s.name === `${name}_bucket`) {
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      const e = get(s.labels);
      e.b.set(le, (e.b.get(le) ?? 0) + s.value);
    } else if (s.name === `${name}_sum`) get(s.labels).sum += s.value;
    else if (s.name === `${name}_count`) get(s.labels).count += s.value;
  }
  const out = new Map<string, Histogram>();
  for (const [k, e] of acc) {
    if (e.count === 0) continue;
    out.set(k, { buckets: [...e.b.entries()].sort((x, y) => x[0] - y[0]), sum: e.sum, count: e.count });
  }
  return out;
}

/**
 * The q-quantile (0..1), interpolated linearly inside the bucket it falls in, with 0 as the lower bound of the first
 * bucket; a quantile in the +Inf bucket is reported as the highest finite bound (like Prometheus' histogram_quantile).
 */
export function quantile(h: Histogram, q: number): number {
  const total = h.buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, c] of h.buckets) {
    if (c >= rank) {
      if (le === Infinity) return prevLe;
      if (c === prevCount) return le;
      return prevLe + ((le - prevLe) * (rank - prevCount)) / (c - prevCount);
    }
    prevLe = le;
    prevCount = c;
  }
  return prevLe;
}

/** The CDF at the bucket bounds: [bound in seconds, fraction of observations <= bound]. */
export function cdf(h: Histogram): [number, number][] {
  const total = h.buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return [];
  return h.buckets.filter(([le]) => Number.isFinite(le)).map(([le, c]) => [le, c / total]);
}
