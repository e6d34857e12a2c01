// ECCSI (RFC 6507) sign/verify against node:crypto ECDSA P-256 and @noble/curves p256 in the same run,
// then the same through nodes/crypto-pool with 1 and 2 worker threads.
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { p256 } from '@noble/curves/nist.js';
import {
  eccsiGenerateKmsKeys,
  eccsiIssueSsk,
  eccsiPrecompute,
  eccsiSign,
  eccsiValidateSsk,
  eccsiVerify,
} from '../crypto-core/rfc6507-eccsi.js';
import { identityFor } from '../crypto-core/rfc6509-identity.js';
import { bench, report } from './harness.js';
import { interleavedMedians, printInterleaved } from './interleaved.js';
import { poolThroughput } from './pool-throughput.js';

const msg = new Uint8Array(200).fill(0x5a);
console.log('# ECCSI (RFC 6507, P-256, SHA-256); medians; noisy shared 2-core machine');

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const ecdsaSig = sign('sha256', msg, privateKey);
const ecdsaSign = bench('node:crypto ECDSA P-256 sign (baseline)', () => sign('sha256', msg, privateKey));
report(ecdsaSign);
const ecdsaVerify = bench('node:crypto ECDSA P-256 verify (baseline)', () =>
  verify('sha256', msg, publicKey, ecdsaSig),
);
report(ecdsaVerify);
const nsk = p256.utils.randomSecretKey();
const npk = p256.getPublicKey(nsk);
const nsig = p256.sign(msg, nsk);
const nobleSign = bench('@noble/curves p256 ECDSA sign', () => p256.sign(msg, nsk), { rounds: 5 });
report(nobleSign, ecdsaSign);
const nobleVerify = bench('@noble/curves p256 ECDSA verify', () => p256.verify(nsig, msg, npk), {
  rounds: 5,
});
report(nobleVerify, ecdsaVerify);

const t0 = performance.now();
const { KSAK, KPAK } = eccsiGenerateKmsKeys();
eccsiPrecompute(KPAK);
console.log(`one-off: G and KPAK window tables (w=8) built in ${(performance.now() - t0).toFixed(0)} ms`);
const id = identityFor('tel:+447700900123', new Date());
const { SSK, PVT } = eccsiIssueSsk(KSAK, KPAK, id);
const sig = eccsiSign(msg, id, SSK, PVT, KPAK);
console.log('## headline: interleaved medians of 40 samples (same load for operation and baseline)');
const hl = interleavedMedians(
  {
    'ECDSA sign': { fn: () => sign('sha256', msg, privateKey), reps: 20 },
    'ECDSA verify': { fn: () => verify('sha256', msg, publicKey, ecdsaSig), reps: 20 },
    sign: { fn: () => eccsiSign(msg, id, SSK, PVT, KPAK) },
    verifyRepeated: { fn: () => eccsiVerify(msg, sig, id, KPAK) },
  },
  40,
);
printInterleaved(hl, [
  ['ECCSI sign', 'sign', 'ECDSA sign'],
  ['ECCSI verify (repeated signer)', 'verifyRepeated', 'ECDSA verify'],
]);
const sBase = bench('node:crypto ECDSA P-256 sign (baseline)', () => sign('sha256', msg, privateKey));
const s = bench('ECCSI sign', () => eccsiSign(msg, id, SSK, PVT, KPAK));
report(s, sBase);
const vBase = bench('node:crypto ECDSA P-256 verify (baseline)', () =>
  verify('sha256', msg, publicKey, ecdsaSig),
);
// 100 signers rotate through the 64-entry signer cache, so every verification takes the cold path
const many = Array.from({ length: 100 }, (_, i) => {
  const idi = identityFor(`tel:+4477009${String(i).padStart(5, '0')}`, new Date());
  const k = eccsiIssueSsk(KSAK, KPAK, idi);
  return { idi, s: eccsiSign(msg, idi, k.SSK, k.PVT, KPAK) };
});
let turn = 0;
const v = bench('ECCSI verify (signer not cached)', () => {
  const x = many[turn++ % many.length]!;
  return eccsiVerify(msg, x.s, x.idi, KPAK);
});
report(v, vBase);
let turn2 = 0;
const hl2 = interleavedMedians(
  {
    'ECDSA verify': { fn: () => verify('sha256', msg, publicKey, ecdsaSig), reps: 20 },
    verifyCold: {
      fn: () => {
        const x = many[turn2++ % many.length]!;
        return eccsiVerify(msg, x.s, x.idi, KPAK);
      },
    },
  },
  40,
);
printInterleaved(hl2, [['ECCSI verify (signer not cached), interleaved', 'verifyCold', 'ECDSA verify']]);
report(
  bench('ECCSI verify (repeated signer, PVT table)', () => eccsiVerify(msg, sig, id, KPAK)),
  vBase,
);
report(
  bench('ECCSI SSK validation (RFC 6507 5.1.2)', () => eccsiValidateSsk(id, SSK, PVT, KPAK), { rounds: 5 }),
  vBase,
);
report(
  bench('ECCSI SSK/PVT issuance (KMS)', () => eccsiIssueSsk(KSAK, KPAK, id), { rounds: 5 }),
  sBase,
);

console.log('# worker pool (nodes/crypto-pool.ts), 1 vs 2 workers, alternating batches of 300 jobs');
const ps = await poolThroughput(
  'eccsi.sign',
  { message: msg, id, ssk: SSK, pvt: PVT, kpak: KPAK },
  { kpak: KPAK },
  300,
);
const pv = await poolThroughput(
  'eccsi.verify',
  { message: msg, signature: sig, id, kpak: KPAK },
  { kpak: KPAK },
  300,
);
console.log(
  `sign: N=1 ${ps.one.toFixed(0)} ops/s, N=2 ${ps.two.toFixed(0)} ops/s, speed-up ${(ps.two / ps.one).toFixed(2)}x`,
);
console.log(
  `verify: N=1 ${pv.one.toFixed(0)} ops/s, N=2 ${pv.two.toFixed(0)} ops/s, speed-up ${(pv.two / pv.one).toFixed(2)}x`,
);
