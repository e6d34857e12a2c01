// Shared helper of the identity-based benchmarks: throughput of a job through nodes/crypto-pool with 1 and 2
// worker threads. Batches on the two pools alternate so that both see the same background load.
import { performance } from 'node:perf_hooks';
import { type CryptoOp, type CryptoOpArgs, CryptoPool, type WarmKeys } from '../nodes/crypto-pool.js';
import { median } from './harness.js';

/** Median ops/s over `rounds` batches of `jobs` concurrent jobs, for pools of 1 and 2 workers. */
export async function poolThroughput<K extends CryptoOp>(
  op: K,
  args: CryptoOpArgs[K],
  warm: WarmKeys,
  jobs: number,
  rounds = 5,
): Promise<{ one: number; two: number }> {
  const pools = [new CryptoPool(1), new CryptoPool(2)];
  try {
    for (const pool of pools) {
      await pool.warm(warm);
      await Promise.all(Array.from({ length: pool.size * 2 }, () => pool.run(op, args)));
    }
    const rates: number[][] = [[], []];
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < pools.length; i++) {
        const t0 = performance.now();
        await Promise.all(Array.from({ length: jobs }, () => pools[i]!.run(op, args)));
        rates[i]!.push((jobs * 1000) / (performance.now() - t0));
      }
    }
    return { one: median(rates[0]!), two: median(rates[1]!) };
  } finally {
    await Promise.all(pools.map((p) => p.close()));
  }
}
