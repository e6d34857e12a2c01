// Shared benchmark harness: runs a function in timed rounds, reports medians and ratios to a same-run baseline.
import { performance } from 'node:perf_hooks';

export interface BenchResult {
  name: string;
  /** Median operations per second over the rounds. */
  opsPerSec: number;
  /** Median MB/s (10^6 bytes) when bytesPerOp was given. */
  mbPerSec?: number;
  /** Median microseconds per operation. */
  usPerOp: number;
  rounds: number;
}

export interface BenchOptions {
  /** Octets processed per call, to report MB/s. */
  bytesPerOp?: number;
  /** Rounds to take the median of (default 7). */
  rounds?: number;
  /** Minimum time per round in ms (default 200). */
  minRoundMs?: number;
  /** Hard cap on calls per round (default 10,000,000). */
  maxOpsPerRound?: number;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i]!;
}

/** Runs `fn` in rounds of at least minRoundMs and returns median throughput. Synchronous functions only. */
export function bench(name: string, fn: () => unknown, opts: BenchOptions = {}): BenchResult {
  const rounds = opts.rounds ?? 7;
  const minMs = opts.minRoundMs ?? 200;
  const cap = opts.maxOpsPerRound ?? 10_000_000;
  for (let i = 0; i < 3; i++) fn();
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let ops = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < minMs && ops < cap) {
      fn();
      ops++;
      if ((ops & 7) === 0 || ops < 8) t = performance.now();
    }
    t = performance.now();
    rates.push((ops * 1000) / (t - t0));
  }
  const opsPerSec = median(rates);
  const res: BenchResult = { name, opsPerSec, usPerOp: 1e6 / opsPerSec, rounds };
  if (opts.bytesPerOp) res.mbPerSec = (opsPerSec * opts.bytesPerOp) / 1e6;
  return res;
}

/** Prints one result line, with its ratio to a baseline measured in the same run. */
export function report(res: BenchResult, baseline?: BenchResult): string {
  const parts = [
    res.name.padEnd(44),
    `${fmt(res.opsPerSec)} ops/s`.padStart(16),
    `${res.usPerOp.toFixed(2)} us/op`.padStart(14),
  ];
  if (res.mbPerSec !== undefined) parts.push(`${res.mbPerSec.toFixed(1)} MB/s`.padStart(13));
  if (baseline) parts.push(`ratio ${(res.opsPerSec / baseline.opsPerSec).toFixed(3)} vs ${baseline.name}`);
  const line = parts.join('  ');
  console.log(line);
  return line;
}

function fmt(n: number): string {
  return n >= 1000 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1);
}
