// Milenage f1..f5* (one full vector) per second, against raw node:crypto AES-128-ECB single-block encryptions.
import { createCipheriv, randomBytes } from 'node:crypto';
import { Milenage } from '../crypto-core/milenage.js';
import { report } from './harness.js';
import { benchInterleaved, reportCpu } from './interleave.js';

const ROUNDS = Number(process.env.ROUNDS ?? 9);
const k = new Uint8Array(randomBytes(16));
const opc = new Uint8Array(randomBytes(16));
const rands = Array.from({ length: 64 }, () => new Uint8Array(randomBytes(16)));
const sqn = new Uint8Array(randomBytes(6));
const amf = Uint8Array.of(0x80, 0x00);
let i = 0;
let sink = 0;
const ecb = createCipheriv('aes-128-ecb', k, null).setAutoPadding(false);
const m = new Milenage(k, opc);

console.log(
  `Milenage, medians of ${ROUNDS} interleaved rounds (one op = f1, f1*, f2, f3, f4, f5, f5* for one RAND)`,
);
const [base, gen, fresh] = benchInterleaved(
  [
    {
      name: 'baseline node:crypto aes-128-ecb 1 block',
      fn: () => (sink ^= ecb.update(rands[i++ & 63]!)[0]!),
    },
    {
      name: 'Milenage generate (f1..f5*)',
      fn: () => (sink ^= m.generate(rands[i++ & 63]!, sqn, amf).ck[0]!),
    },
    {
      name: 'Milenage incl. construction (new K each op)',
      fn: () => (sink ^= new Milenage(k, opc).generate(rands[i++ & 63]!, sqn, amf).ck[0]!),
    },
  ],
  ROUNDS,
);
report(base!);
report(gen!, base);
report(fresh!, base);
for (const r of [base!, gen!, fresh!]) reportCpu(r);
if (sink === 0.5) console.log(sink);
