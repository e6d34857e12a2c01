// Interleaved benchmarking on a shared, noisy machine: one round of each candidate in turn, medians per candidate,
// so that a load burst hits the baseline and the subject alike instead of skewing their ratio.
import { type BenchOptions, type BenchResult, bench, median } from './harness.js';

export interface Candidate {
  name: string;
  fn: () => unknown;
  bytesPerOp?: number;
}

/** Runs `rounds` rounds; in each, one timed round of every candidate in order. Returns median results. */
export function benchInterleaved(cands: Candidate[], rounds = 9, opts: BenchOptions = {}): BenchResult[] {
  const rates = cands.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    cands.forEach((c, i) => {
      const o: BenchOptions = { ...opts, rounds: 1 };
      if (c.bytesPerOp !== undefined) o.bytesPerOp = c.bytesPerOp;
      rates[i]!.push(bench(c.name, c.fn, o).opsPerSec);
    });
  }
  return cands.map((c, i) => {
    const opsPerSec = median(rates[i]!);
    const res: BenchResult = { name: c.name, opsPerSec, usPerOp: 1e6 / opsPerSec, rounds };
    if (c.bytesPerOp) res.mbPerSec = (opsPerSec * c.bytesPerOp) / 1e6;
    return res;
  });
}
