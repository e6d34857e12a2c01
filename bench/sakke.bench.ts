// SAKKE (RFC 6508, RFC 6509 parameter set 1): "before" (variable-base scalar multiplication, square-and-
// multiply g^r, pairing with no precomputation) against "after" (fixed-base tables for P, Z_S and g, batch-
// affine summation, precomputed Miller lines per RSK), with a per-step breakdown and a worker-pool run.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { concatBytes } from '../crypto-core/bytes.js';
import {
  fp2Pow,
  pairingEvaluate,
  pairingLines,
  pfFixedBaseTable,
  pfPow,
  pfPowFixed,
  pfRepresentative,
} from '../crypto-core/ibc-algebra.js';
import {
  SAKKE_CURVE as E,
  hashToIntegerRange,
  SAKKE_PARAMETER_SET_1 as PS,
  SAKKE_WINDOWS,
  sakkeDecapsulate,
  sakkeEncapsulate,
  sakkeGenerateMasterKey,
  sakkeIssueRsk,
  sakkePrecompute,
  sakkeValidateRsk,
} from '../crypto-core/rfc6508-sakke.js';
import { identityFor } from '../crypto-core/rfc6509-identity.js';
import { bench, median, report } from './harness.js';
import { interleavedMedians, printInterleaved } from './interleaved.js';
import { poolThroughput } from './pool-throughput.js';

const slow = { rounds: 5, minRoundMs: 300 };
const p = PS.p;
const q = PS.q;
console.log(
  '# SAKKE (RFC 6508, parameter set 1: 1024-bit p, 1022-bit q); medians; noisy shared 2-core machine',
);

// Baseline for scale: a plain 1024-bit BigInt modular exponentiation.
const x = BigInt(`0x${randomBytes(127).toString('hex')}`);
const e = BigInt(`0x${randomBytes(127).toString('hex')}`);
const modexp = bench(
  'plain BigInt 1024-bit modexp (baseline)',
  () => {
    let r = 1n;
    let b = x;
    let k = e;
    while (k > 0n) {
      if (k & 1n) r = (r * b) % p;
      b = (b * b) % p;
      k >>= 1n;
    }
    return r;
  },
  slow,
);
report(modexp);
const modexpOnce = () => {
  let acc = 1n;
  let base = x;
  let k = e;
  while (k > 0n) {
    if (k & 1n) acc = (acc * base) % p;
    base = (base * base) % p;
    k >>= 1n;
  }
  return acc;
};

let t0 = performance.now();
sakkePrecompute();
console.log(
  `one-off: P and g tables (w=${SAKKE_WINDOWS.point}/${SAKKE_WINDOWS.pf}) ${(performance.now() - t0).toFixed(0)} ms`,
);
const { z, Z_S } = sakkeGenerateMasterKey();
t0 = performance.now();
sakkePrecompute(Z_S);
console.log(`one-off per KMS: Z_S table ${(performance.now() - t0).toFixed(0)} ms`);
const id = identityFor('tel:+447700900123', new Date());
const rsk = sakkeIssueRsk(z, id);
t0 = performance.now();
sakkePrecompute(Z_S, rsk);
console.log(`one-off per RSK: Miller lines ${(performance.now() - t0).toFixed(0)} ms`);
const ssv = randomBytes(16);
const ed = sakkeEncapsulate(ssv, id, Z_S);
const R = E.decodePoint('R', ed.subarray(0, 257));
const K = E.decodePoint('K', rsk);
const Zp = E.decodePoint('Z', Z_S);
const b = BigInt(`0x${Buffer.from(id).toString('hex')}`);
const Qb = E.toAffine(E.add(E.mul(PS.P, b), { ...Zp, z: 1n }))!;
const r = hashToIntegerRange(concatBytes(ssv, id), q);

console.log('## headline: interleaved medians of 15 samples (same load for operation and baseline)');
printInterleaved(
  interleavedMedians(
    {
      modexp: { fn: () => modexpOnce() },
      encapsulate: { fn: () => sakkeEncapsulate(ssv, id, Z_S) },
      decapsulate: { fn: () => sakkeDecapsulate(ed, id, rsk, Z_S) },
    },
    15,
  ),
  [
    ['plain BigInt 1024-bit modexp (baseline)', 'modexp'],
    ['SAKKE encapsulate', 'encapsulate', 'modexp'],
    ['SAKKE decapsulate (incl. R check)', 'decapsulate', 'modexp'],
  ],
);

console.log('## before (no precomputation)');
const naiveR = bench('[r]([b]P+Z_S) variable-base wNAF Jacobian', () => E.toAffine(E.mul(Qb, r)), slow);
report(naiveR, modexp);
const naiveG = bench('g^r square-and-multiply in PF_p', () => pfRepresentative(pfPow(PS.g, r, p), p), slow);
report(naiveG, modexp);
const naivePair = bench(
  'pairing <R,K> (lines computed per call)',
  () => pairingEvaluate(pairingLines(E, K, q), R, p, 4n),
  slow,
);
report(naivePair, modexp);
const naiveEncap = bench(
  'encapsulate, before',
  () => {
    const rr = hashToIntegerRange(concatBytes(ssv, id), q);
    const RR = E.toAffine(E.mul(Qb, rr));
    const m = hashToIntegerRange(new Uint8Array(128), 1n << 128n);
    return [RR, pfRepresentative(pfPow(PS.g, rr, p), p), m];
  },
  slow,
);
report(naiveEncap, modexp);

console.log('## after: breakdown');
const tP = pfFixedBaseTable(PS.g, p, 8, 1022); // same table as the module's, for the breakdown only
const tabP = E.fixedBaseTable(PS.P, 8, 1022);
const tabZ = E.fixedBaseTable(Zp, 8, 1022);
const lines = pairingLines(E, K, q);
const rb = (r * b) % q;
report(
  bench(
    'R: 2 fixed-base tables + batch-affine sum',
    () => E.toAffine(E.sumAffine(E.collectFixed(E.collectFixed([], tabP, rb), tabZ, r))),
    slow,
  ),
  naiveR,
);
report(
  bench('R: 2 fixed-base tables, Jacobian madd only', () =>
    E.toAffine(E.mulFixedAdd(E.mulFixed(tabP, rb), tabZ, r)),
  ),
  naiveR,
);
report(
  bench('g^r fixed-base table + representative', () => pfRepresentative(pfPowFixed(tP, r, p), p), slow),
  naiveG,
);
report(bench('HashToIntegerRange(SSV||b, q)', () => hashToIntegerRange(concatBytes(ssv, id), q)));
const mill = bench('Miller loop with precomputed RSK lines', () => pairingEvaluate(lines, R, p, 1n), slow);
report(mill, naivePair);
const fe = { a: R.x, b: R.y };
report(bench('final power c=(p+1)/q=4 + representative', () => pfRepresentative(fp2Pow(fe, 4n, p), p)));
report(
  bench('Miller lines precomputation (once per RSK)', () => pairingLines(E, K, q), {
    rounds: 3,
    minRoundMs: 300,
  }),
);

console.log('## before -> after, interleaved medians of 9 samples');
const il = interleavedMedians(
  {
    modexp: { fn: () => modexpOnce() },
    rBefore: { fn: () => E.toAffine(E.mul(Qb, r)) },
    rAfter: {
      fn: () => E.toAffine(E.sumAffine(E.collectFixed(E.collectFixed([], tabP, rb), tabZ, r))),
    },
    rAfterMadd: { fn: () => E.toAffine(E.mulFixedAdd(E.mulFixed(tabP, rb), tabZ, r)) },
    gBefore: { fn: () => pfRepresentative(pfPow(PS.g, r, p), p) },
    gAfter: { fn: () => pfRepresentative(pfPowFixed(tP, r, p), p) },
    pairBefore: { fn: () => pairingEvaluate(pairingLines(E, K, q), R, p, 4n) },
    millerAfter: { fn: () => pairingEvaluate(lines, R, p, 1n) },
    finalPow: { fn: () => pfRepresentative(fp2Pow(fe, 4n, p), p) },
  },
  9,
);
printInterleaved(il, [
  ['plain BigInt 1024-bit modexp (baseline)', 'modexp'],
  ['R before: variable-base wNAF', 'rBefore', 'modexp'],
  ['R after: 2 tables + batch-affine sum', 'rAfter', 'rBefore'],
  ['R after: 2 tables, Jacobian madd only', 'rAfterMadd', 'rBefore'],
  ['g^r before: square-and-multiply', 'gBefore', 'modexp'],
  ['g^r after: fixed-base PF_p table', 'gAfter', 'gBefore'],
  ['pairing before: lines per call', 'pairBefore', 'modexp'],
  ['Miller loop after: precomputed RSK lines', 'millerAfter', 'pairBefore'],
  ['final power c=4 + representative', 'finalPow', 'modexp'],
]);

console.log('## after: operations');
const enc = bench('SAKKE encapsulate (RFC 6508 6.2.1)', () => sakkeEncapsulate(ssv, id, Z_S), slow);
report(enc, naiveEncap);
const dec = bench('SAKKE decapsulate incl. R check (6.2.2)', () => sakkeDecapsulate(ed, id, rsk, Z_S), slow);
report(dec, naivePair);
report(
  bench('RSK validation (6.1.2), lines cached', () => sakkeValidateRsk(id, rsk, Z_S), slow),
  dec,
);

const timeIt = (f: () => unknown) => {
  const t = performance.now();
  f();
  return performance.now() - t;
};
const ratioEnc: number[] = [];
const ratioDec: number[] = [];
for (let i = 0; i < 15; i++) {
  const m1 = timeIt(modexpOnce);
  const te = timeIt(() => sakkeEncapsulate(ssv, id, Z_S));
  const m2 = timeIt(modexpOnce);
  const td = timeIt(() => sakkeDecapsulate(ed, id, rsk, Z_S));
  const m3 = timeIt(modexpOnce);
  ratioEnc.push(te / ((m1 + m2) / 2));
  ratioDec.push(td / ((m2 + m3) / 2));
}
console.log(
  `interleaved with the modexp baseline: encapsulate = ${median(ratioEnc).toFixed(2)} modexp, ` +
    `decapsulate = ${median(ratioDec).toFixed(2)} modexp (median of 15 ratios)`,
);

console.log('# worker pool (nodes/crypto-pool.ts), 1 vs 2 workers, alternating batches');
const pe = await poolThroughput('sakke.encapsulate', { ssv, id, zS: Z_S }, { zS: Z_S }, 60);
const pd = await poolThroughput(
  'sakke.decapsulate',
  { encapsulated: ed, id, rsk, zS: Z_S },
  { zS: Z_S, rsk },
  16,
);
console.log(
  `encapsulate: N=1 ${pe.one.toFixed(1)} ops/s, N=2 ${pe.two.toFixed(1)} ops/s, speed-up ${(pe.two / pe.one).toFixed(2)}x`,
);
console.log(
  `decapsulate: N=1 ${pd.one.toFixed(1)} ops/s, N=2 ${pd.two.toFixed(1)} ops/s, speed-up ${(pd.two / pd.one).toFixed(2)}x`,
);
console.log(
  `2,000-member group key distribution (one encapsulation each): ~${(2000 / pe.two).toFixed(1)} s with 2 workers`,
);
