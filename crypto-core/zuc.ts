// ZUC keystream generator, version 1.6: ETSI/SAGE 128-EEA3 & 128-EIA3 Document 2 (ZUC specification), TS 35.222.
import { requireLength } from './errors.js';

function hexTable(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

// ZUC spec 3.4.1 table 3.1: S-box S0, one row of 16 octets per line.
const S0 = hexTable(
  '3e725b47cae0003304d1549809b96dcb' +
    '7b1bf932af9d6aa5b82dfc1d08530390' +
    '4d4e8499e4ced991ddb685488b296eac' +
    'cdc1f81e734369c6b5bdfd396320d438' +
    '767db2a7cfed57c5f32cbb142106559b' +
    'e3ef5e314f7f5aa40d8251495fba581c' +
    '4a16d517a892241f8cffd8ae2e01d3ad' +
    '3b4bda46ebc9de9a8f87d73a806f2fc8' +
    'b1b437f70a2213287ccc3c89c7c39656' +
    '07bf7ef00b2b975235417961a64c10fe' +
    'bc2695888ab0a3fbc01894f2e1e5e95d' +
    'd0dc1166645cec59427512f5749caa23' +
    '0e86abbe2a02e767e644a26cc2939ff1' +
    'f6fa36d250689e6271153dd640c4e20f' +
    '8e83776b25053f0c30ea70b7a1e8a965' +
    '8d271adb81b3a0f4457a19dfee783460',
);

// ZUC spec 3.4.1 table 3.2: S-box S1, one row of 16 octets per line.
const S1 = hexTable(
  '55c263713bc847869f3cda5b29aafd77' +
    '8cc5940ca61a1300e3a8167240f9f842' +
    '4426689681d9453e1076c6a78b3943e1' +
    '3ab5562ac06db3052266bfdc0bfa6248' +
    'dd20110636c9c1cff62752bb69f5d487' +
    '7f844cd29c57a4bc4f9adffed68d7aeb' +
    '2b53d85ca11417fb23d57d3067730809' +
    'eeb7703f61b2198e4ee54b938f5ddba9' +
    'adf1ae2ecb0dfcf42d466e1d97e8d1e9' +
    '4d37a5755e839eab829db91ce0cd4989' +
    '01b6bd5824a25f387899159050b895e4' +
    'd091c7ceed0fb46fa0ccf0024a79c3de' +
    'a3efea51e66b18ec1b2c80f774e7ff21' +
    '5a6a541e41319235c433070aba7e0e34' +
    '88b1987cf33d606c7bcad31f32650428' +
    '64be859b2f598ad7b025acaf1203e2f2',
);

/** Exposed for tests (ZUC spec example 7: S0(0x12) = 0xF9, S1(0x34) = 0xC0). */
export const ZUC_SBOXES = { S0, S1 } as const;

// S applied to a 32-bit word (S0, S1, S0, S1 from the most significant octet), as four shifted tables.
const SB0 = new Int32Array(256);
const SB1 = new Int32Array(256);
const SB2 = new Int32Array(256);
const SB3 = new Int32Array(256);
for (let x = 0; x < 256; x++) {
  SB0[x] = S0[x]! << 24;
  SB1[x] = S1[x]! << 16;
  SB2[x] = S0[x]! << 8;
  SB3[x] = S1[x]!;
}

/** ZUC spec 3.5: the 15-bit constants d_0..d_15 of key loading. */
const D = [
  0x44d7, 0x26bc, 0x626b, 0x135e, 0x5789, 0x35e2, 0x7135, 0x09af, 0x4d78, 0x2f13, 0x6bc4, 0x1af1, 0x5e26,
  0x3c4d, 0x789a, 0x47ac,
];

/**
 * ZUC (spec 3.6): loads `key` and the 16-octet `iv`, runs the 32 initialisation rounds and the discarded work
 * round, then writes `n` 32-bit keystream words into `out` (as signed 32-bit values; `>>> 0` gives the unsigned).
 */
export function zucKeystream(key: Uint8Array, iv: Uint8Array, out: Int32Array, n: number): void {
  requireLength('ZUC key', key, 16);
  requireLength('ZUC IV', iv, 16);
  // Key loading (spec 3.5): s_i = k_i || d_i || iv_i.
  const s = new Array<number>(16);
  for (let i = 0; i < 16; i++) s[i] = (key[i]! << 23) | (D[i]! << 8) | iv[i]!;
  let s0 = s[0]!;
  let s1 = s[1]!;
  let s2 = s[2]!;
  let s3 = s[3]!;
  let s4 = s[4]!;
  let s5 = s[5]!;
  let s6 = s[6]!;
  let s7 = s[7]!;
  let s8 = s[8]!;
  let s9 = s[9]!;
  let s10 = s[10]!;
  let s11 = s[11]!;
  let s12 = s[12]!;
  let s13 = s[13]!;
  let s14 = s[14]!;
  let s15 = s[15]!;
  let r1 = 0;
  let r2 = 0;
  const total = 33 + n;
  for (let t = 0; t < total; t++) {
    // Bit reorganisation (spec 3.3).
    const x0 = ((s15 & 0x7fff8000) << 1) | (s14 & 0xffff);
    const x1 = (s11 << 16) | (s9 >>> 15);
    const x2 = (s7 << 16) | (s5 >>> 15);
    // Nonlinear function F (spec 3.4): W = (X0 ^ R1) + R2, W1 = R1 + X1, W2 = R2 ^ X2.
    const w = ((x0 ^ r1) + r2) | 0;
    const w1 = (r1 + x1) | 0;
    const w2 = r2 ^ x2;
    // L1 / L2 (spec 3.4.2) then S (spec 3.4.1).
    let u = (w1 << 16) | (w2 >>> 16);
    u =
      u ^
      ((u << 2) | (u >>> 30)) ^
      ((u << 10) | (u >>> 22)) ^
      ((u << 18) | (u >>> 14)) ^
      ((u << 24) | (u >>> 8));
    let v = (w2 << 16) | (w1 >>> 16);
    v =
      v ^
      ((v << 8) | (v >>> 24)) ^
      ((v << 14) | (v >>> 18)) ^
      ((v << 22) | (v >>> 10)) ^
      ((v << 30) | (v >>> 2));
    r1 = SB0[u >>> 24]! | SB1[(u >>> 16) & 0xff]! | SB2[(u >>> 8) & 0xff]! | SB3[u & 0xff]!;
    r2 = SB0[v >>> 24]! | SB1[(v >>> 16) & 0xff]! | SB2[(v >>> 8) & 0xff]! | SB3[v & 0xff]!;
    if (t > 32) out[t - 33] = w ^ ((s2 << 16) | (s0 >>> 15));
    // LFSR (spec 3.2): s16 = 2^15 s15 + 2^17 s13 + 2^21 s10 + 2^20 s4 + (1 + 2^8) s0 mod (2^31 - 1) [+ W >> 1].
    // The six terms are each < 2^31, so their sum (< 2^34) is exact in a double; fold it twice mod 2^31 - 1.
    let f =
      s0 +
      (((s0 << 8) | (s0 >>> 23)) & 0x7fffffff) +
      (((s4 << 20) | (s4 >>> 11)) & 0x7fffffff) +
      (((s10 << 21) | (s10 >>> 10)) & 0x7fffffff) +
      (((s13 << 17) | (s13 >>> 14)) & 0x7fffffff) +
      (((s15 << 15) | (s15 >>> 16)) & 0x7fffffff);
    if (t < 32) f += w >>> 1;
    f = (f & 0x7fffffff) + Math.floor(f / 0x80000000);
    f = (f & 0x7fffffff) + (f >>> 31);
    if (f === 0) f = 0x7fffffff;
    s0 = s1;
    s1 = s2;
    s2 = s3;
    s3 = s4;
    s4 = s5;
    s5 = s6;
    s6 = s7;
    s7 = s8;
    s8 = s9;
    s9 = s10;
    s10 = s11;
    s11 = s12;
    s12 = s13;
    s13 = s14;
    s14 = s15;
    s15 = f;
  }
}
