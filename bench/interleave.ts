// Interleaved benchmarking on a shared, noisy machine: one round of each candidate in turn, medians per candidate,
// so that a load burst hits the baseline and the subject alike instead of skewing their ratio. Each round is also
// timed in process CPU time, to give a throughput per CPU-second that says how fast the code is when it has a core.
import { performance } from 'node:perf_hooks';
import { type BenchOptions, type BenchResult, bench, median } from './harness.js';

export interface Candidate {
  name: string;
  fn: () => unknown;
  bytesPerOp?: number;
}

export interface InterleavedResult extends BenchResult {
  /** Median operations per CPU-second (user + system time of this process). */
  opsPerCpuSec: number;
}

/** Runs `rounds` rounds; in each, one timed round of every candidate in order. Returns median results. */
export function benchInterleaved(
  cands: Candidate[],
  rounds = 9,
  opts: BenchOptions = {},
): InterleavedResult[] {
  const rates = cands.map(() => [] as number[]);
  const cpuRates = cands.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    cands.forEach((c, i) => {
      const o: BenchOptions = { ...opts, rounds: 1 };
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const res = bench(c.name, c.fn, o);
      const wallMs = performance.now() - t0;
      const cpu = process.cpuUsage(c0);
      rates[i]!.push(res.opsPerSec);
      // ops in the round (the 3 warm-up calls of bench() are negligible) over CPU seconds.
      cpuRates[i]!.push((res.opsPerSec * wallMs * 1000) / (cpu.user + cpu.system));
    });
  }
  return cands.map((c, i) => {
    const opsPerSec = median(rates[i]!);
    const res: InterleavedResult = {
      name: c.name,
      opsPerSec,
      usPerOp: 1e6 / opsPerSec,
      rounds,
      opsPerCpuSec: median(cpuRates[i]!),
    };
    if (c.bytesPerOp) res.mbPerSec = (opsPerSec * c.bytesPerOp) / 1e6;
    return res;
  });
}

/** One line with the per-CPU-second figures (MB/s when bytesPerOp was given), after harness report() lines. */
export function reportCpu(res: InterleavedResult, bytesPerOp?: number): string {
  const fig = bytesPerOp
    ? `${((res.opsPerCpuSec * bytesPerOp) / 1e6).toFixed(1)} MB/s`
    : `${Math.round(res.opsPerCpuSec).toLocaleString('en-US')} ops/s`;
  const line = `  per CPU-second: ${res.name.padEnd(44)} ${fig}`;
  console.log(line);
  return line;
}
