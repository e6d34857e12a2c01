// 128-NEA/NIA 1-2-3 on 1,200-byte packets, against raw node:crypto AES-128-CTR with one cipher object per packet.
import { createCipheriv, randomBytes } from 'node:crypto';
import { nea } from '../crypto-core/nea.js';
import { nia } from '../crypto-core/nia.js';
import { report } from './harness.js';
import { benchInterleaved, type Candidate, reportCpu } from './interleave.js';

const SIZE = 1200;
const BITS = SIZE * 8;
const ROUNDS = Number(process.env.ROUNDS ?? 9);
const key = new Uint8Array(randomBytes(16));
const packets = Array.from({ length: 64 }, () => new Uint8Array(randomBytes(SIZE)));
const iv = new Uint8Array(16);
let i = 0;
let sink = 0;

const cands: Candidate[] = [
  {
    name: 'baseline node:crypto aes-128-ctr/packet',
    bytesPerOp: SIZE,
    fn: () => {
      const p = packets[i++ & 63]!;
      iv[3] = i;
      sink ^= createCipheriv('aes-128-ctr', key, iv).update(p)[0]!;
    },
  },
];
for (const alg of [2, 1, 3] as const) {
  cands.push({
    name: `128-NEA${alg}`,
    bytesPerOp: SIZE,
    fn: () => {
      sink ^= nea(alg, key, i++, 5, 1, packets[i & 63]!, BITS)[0]!;
    },
  });
  cands.push({
    name: `128-NIA${alg}`,
    bytesPerOp: SIZE,
    fn: () => {
      sink ^= nia(alg, key, i++, 5, 1, packets[i & 63]!, BITS)[0]!;
    },
  });
}

console.log(`128-NEA/NIA, ${SIZE}-byte packets, medians of ${ROUNDS} interleaved rounds`);
const [base, ...rest] = benchInterleaved(cands, ROUNDS);
report(base!);
for (const r of rest) report(r, base);
for (const r of [base!, ...rest]) reportCpu(r, SIZE);
if (sink === 0.5) console.log(sink);
