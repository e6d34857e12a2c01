// Shared helper of the identity-based benchmarks: throughput of a job through nodes/crypto-pool with N workers.
import { performance } from 'node:perf_hooks';
import { type CryptoOp, type CryptoOpArgs, CryptoPool, type WarmKeys } from '../nodes/crypto-pool.js';
import { median } from './harness.js';

/** Median ops/s over `rounds` batches of `jobs` concurrent jobs on a pool of `workers` threads. */
export async function poolThroughput<K extends CryptoOp>(
  workers: number,
  op: K,
  args: CryptoOpArgs[K],
  warm: WarmKeys,
  jobs: number,
  rounds = 3,
): Promise<number> {
  const pool = new CryptoPool(workers);
  try {
    await pool.warm(warm);
    await Promise.all(Array.from({ length: workers * 2 }, () => pool.run(op, args)));
    const rates: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      await Promise.all(Array.from({ length: jobs }, () => pool.run(op, args)));
      rates.push((jobs * 1000) / (performance.now() - t0));
    }
    return median(rates);
  } finally {
    await pool.close();
  }
}
