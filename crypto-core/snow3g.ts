// SNOW 3G keystream generator: ETSI/SAGE UEA2 & UIA2 Document 2 (SNOW 3G specification), TS 35.216.
// Word-oriented: the S-boxes S1/S2 are 4 precomputed T-tables each, MULalpha/DIValpha are 256-entry tables.
import { requireLength } from './errors.js';

/** MULx(V, c) of SNOW 3G spec 3.1.1: multiply by x in GF(2^8) with reduction byte c. */
function mulx(v: number, c: number): number {
  return v & 0x80 ? ((v << 1) ^ c) & 0xff : (v << 1) & 0xff;
}

/** MULxPOW(V, i, c) of SNOW 3G spec 3.1.2. */
function mulxPow(v: number, i: number, c: number): number {
  for (; i > 0; i--) v = mulx(v, c);
  return v;
}

/** Multiplication in GF(2^8) modulo the polynomial `poly` (9 bits). */
function gfMul(a: number, b: number, poly: number): number {
  let r = 0;
  while (b) {
    if (b & 1) r ^= a;
    a <<= 1;
    if (a & 0x100) a ^= poly;
    b >>>= 1;
  }
  return r;
}

function gfPow(a: number, e: number, poly: number): number {
  let r = 1;
  for (; e > 0; e--) r = gfMul(r, a, poly);
  return r;
}

/** Rijndael S-box SR (SNOW 3G spec 3.3.1): inverse in GF(2^8)/0x11B followed by the AES affine map. */
function buildSR(): Uint8Array {
  const sr = new Uint8Array(256);
  for (let x = 0; x < 256; x++) {
    const inv = x === 0 ? 0 : gfPow(x, 254, 0x11b);
    let s = inv;
    for (let k = 1; k <= 4; k++) s ^= ((inv << k) | (inv >>> (8 - k))) & 0xff;
    sr[x] = s ^ 0x63;
  }
  return sr;
}

/** S-box SQ (SNOW 3G spec 3.3.2): Dickson polynomial g49(x) XOR 0x25 in GF(2^8)/(x^8+x^6+x^5+x^3+1). */
function buildSQ(): Uint8Array {
  const sq = new Uint8Array(256);
  const exps = [1, 9, 13, 15, 33, 41, 45, 47, 49];
  for (let x = 0; x < 256; x++) {
    let y = 0;
    for (const e of exps) y ^= gfPow(x, e, 0x169);
    sq[x] = y ^ 0x25;
  }
  return sq;
}

/** T-tables for S1/S2 (SNOW 3G spec 3.3.1/3.3.2): the S-box followed by the MixColumn-like map with reduction c. */
function buildT(sbox: Uint8Array, c: number): Int32Array[] {
  const t = [0, 1, 2, 3].map(() => new Int32Array(256));
  for (let x = 0; x < 256; x++) {
    const s = sbox[x]!;
    const s2 = mulx(s, c);
    const s3 = s2 ^ s;
    // r0 = 2w0+w1+w2+3w3, r1 = 3w0+2w1+w2+w3, r2 = w0+3w1+2w2+w3, r3 = w0+w1+3w2+2w3 (w0, r0 most significant).
    t[0]![x] = (s2 << 24) | (s3 << 16) | (s << 8) | s;
    t[1]![x] = (s << 24) | (s2 << 16) | (s3 << 8) | s;
    t[2]![x] = (s << 24) | (s << 16) | (s2 << 8) | s3;
    t[3]![x] = (s3 << 24) | (s << 16) | (s << 8) | s2;
  }
  return t;
}

const SR = buildSR();
const SQ = buildSQ();
const [S1T0, S1T1, S1T2, S1T3] = buildT(SR, 0x1b) as [Int32Array, Int32Array, Int32Array, Int32Array];
const [S2T0, S2T1, S2T2, S2T3] = buildT(SQ, 0x69) as [Int32Array, Int32Array, Int32Array, Int32Array];

/** MULalpha and DIValpha tables (SNOW 3G spec 3.4.1/3.4.2). */
const MUL_A = new Int32Array(256);
const DIV_A = new Int32Array(256);
for (let c = 0; c < 256; c++) {
  MUL_A[c] =
    (mulxPow(c, 23, 0xa9) << 24) |
    (mulxPow(c, 245, 0xa9) << 16) |
    (mulxPow(c, 48, 0xa9) << 8) |
    mulxPow(c, 239, 0xa9);
  DIV_A[c] =
    ((mulxPow(c, 16, 0xa9) << 24) |
      (mulxPow(c, 39, 0xa9) << 16) |
      (mulxPow(c, 6, 0xa9) << 8) |
      mulxPow(c, 64, 0xa9)) >>>
    0;
}

/** Exposed for tests: the first entries of the derived S-boxes. */
export const SNOW3G_SBOXES = { SR, SQ } as const;

/**
 * SNOW 3G (spec 4.1 initialisation, 4.2 keystream generation): writes `n` keystream words into `out`.
 * `key` is the 128-bit key as octets (k3 = octets 0..3, ..., k0 = octets 12..15, as UEA2/UIA2 load CK/IK);
 * iv0..iv3 are the four IV words of the spec. Words are stored as signed 32-bit values (all state stays int32
 * for V8; read them with `>>> 0` for the unsigned value).
 */
export function snow3gKeystream(
  key: Uint8Array,
  iv0: number,
  iv1: number,
  iv2: number,
  iv3: number,
  out: Int32Array,
  n: number,
): void {
  requireLength('SNOW 3G key', key, 16);
  const k3 = (key[0]! << 24) | (key[1]! << 16) | (key[2]! << 8) | key[3]!;
  const k2 = (key[4]! << 24) | (key[5]! << 16) | (key[6]! << 8) | key[7]!;
  const k1 = (key[8]! << 24) | (key[9]! << 16) | (key[10]! << 8) | key[11]!;
  const k0 = (key[12]! << 24) | (key[13]! << 16) | (key[14]! << 8) | key[15]!;
  const ONES = -1;
  iv0 |= 0;
  iv1 |= 0;
  iv2 |= 0;
  iv3 |= 0;
  let s15 = (k3 ^ iv0) | 0;
  let s14 = k2;
  let s13 = k1;
  let s12 = (k0 ^ iv1) | 0;
  let s11 = (k3 ^ ONES) | 0;
  let s10 = (k2 ^ ONES ^ iv2) | 0;
  let s9 = (k1 ^ ONES ^ iv3) | 0;
  let s8 = (k0 ^ ONES) | 0;
  let s7 = k3;
  let s6 = k2;
  let s5 = k1;
  let s4 = k0;
  let s3 = (k3 ^ ONES) | 0;
  let s2 = (k2 ^ ONES) | 0;
  let s1 = (k1 ^ ONES) | 0;
  let s0 = (k0 ^ ONES) | 0;
  let r1 = 0;
  let r2 = 0;
  let r3 = 0;
  // 32 clocks in initialisation mode, one in keystream mode with the FSM output discarded, then n output words.
  const total = 33 + n;
  for (let t = 0; t < total; t++) {
    // FSM (spec 3.4.6): F = (s15 + R1) ^ R2; r = R2 + (R3 ^ s5); R3 = S2(R2); R2 = S1(R1); R1 = r.
    const f = ((s15 + r1) | 0) ^ r2;
    const r = (r2 + (r3 ^ s5)) | 0;
    r3 = S2T0[r2 >>> 24]! ^ S2T1[(r2 >>> 16) & 0xff]! ^ S2T2[(r2 >>> 8) & 0xff]! ^ S2T3[r2 & 0xff]!;
    r2 = S1T0[r1 >>> 24]! ^ S1T1[(r1 >>> 16) & 0xff]! ^ S1T2[(r1 >>> 8) & 0xff]! ^ S1T3[r1 & 0xff]!;
    r1 = r;
    if (t > 32) out[t - 33] = f ^ s0;
    // LFSR (spec 3.4.4/3.4.5): v = (s0 << 8) ^ MULalpha(s0 >> 24) ^ s2 ^ (s11 >> 8) ^ DIValpha(s11 & 0xff) [^ F].
    let v = (s0 << 8) ^ MUL_A[s0 >>> 24]! ^ s2 ^ (s11 >>> 8) ^ DIV_A[s11 & 0xff]!;
    if (t < 32) v ^= f;
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
    s15 = v;
  }
}
