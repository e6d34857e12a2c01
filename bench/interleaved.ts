// Interleaved medians: every sample runs each operation once in turn, so that operations and their baselines
// see the same background load on a shared machine. Used for the headline lines of the IBC benchmarks.
import { performance } from 'node:perf_hooks';
import { median } from './harness.js';

/** Median milliseconds per call of each operation over `samples` interleaved rounds (`reps` calls each). */
export function interleavedMedians(
  ops: Record<string, { fn: () => unknown; reps?: number }>,
  samples: number,
): Record<string, number> {
  const times: Record<string, number[]> = {};
  for (const k of Object.keys(ops)) times[k] = [];
  for (let s = 0; s < samples; s++) {
    for (const [k, { fn, reps = 1 }] of Object.entries(ops)) {
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) fn();
      times[k]!.push((performance.now() - t0) / reps);
    }
  }
  const out: Record<string, number> = {};
  for (const k of Object.keys(ops)) out[k] = median(times[k]!);
  return out;
}

/** Prints "name  median ms  ratio to baseline" lines. */
export function printInterleaved(res: Record<string, number>, lines: [string, string, string?][]): void {
  for (const [label, key, base] of lines) {
    const v = res[key]!;
    const ratio = base
      ? `  ratio ${(res[base]! / v).toFixed(3)} vs ${base} (${res[base]!.toFixed(3)} ms)`
      : '';
    console.log(`${label.padEnd(44)} ${v.toFixed(3).padStart(9)} ms/op (median)${ratio}`);
  }
}
