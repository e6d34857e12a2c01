// 128-NIA1/2/3 integrity (TS 33.401 Annex B.2 / TS 33.501 Annex D.3; EIA1 = UIA2 with FRESH = BEARER || 0^27,
// EIA2 = AES-128-CMAC truncated to 32 bits, EIA3 per ETSI/SAGE EIA3 spec): 4-octet MAC-I over the first LENGTH bits.
// Message bits beyond LENGTH are ignored (treated as zero), so callers may pass a buffer with trailing garbage.
import { aesCmacFor } from './aes-cmac.js';
import { constantTimeEqual } from './bytes.js';
import { CryptoInputError, requireLength } from './errors.js';
import { checkCipherInputs } from './nea.js';
import { snow3gKeystream } from './snow3g.js';
import { zucKeystream } from './zuc.js';

/** Algorithm identities of TS 33.401 5.1.4.2 / TS 33.501 5.11.1.2: 0 = NIA0 (null), 1 = SNOW 3G, 2 = AES, 3 = ZUC. */
export type NiaAlgorithm = 0 | 1 | 2 | 3;

// ---- 128-NIA1: UIA2 (ETSI/SAGE UEA2&UIA2 Document 1, 4.3/4.4) -------------------------------------------------
// GF(2^64) with reduction x^64 + x^4 + x^3 + x + 1 (c = 0x1b), 64-bit values as (hi, lo) 32-bit halves.
// MUL64(V, P) by 4-bit windows: table[16*j + n] = (n * x^(4j)) * P for the 16 nibble positions j of V.
const pHi = new Int32Array(256);
const pLo = new Int32Array(256);
const qHi = new Int32Array(256);
const qLo = new Int32Array(256);
const baseHi = new Int32Array(4);
const baseLo = new Int32Array(4);

/** Fills the 16 x 16 nibble tables for the fixed multiplier (hi, lo) (UIA2 4.3.3 MUL64 with MUL64xPOW, tabulated). */
function buildMul64Table(hi: number, lo: number, tHi: Int32Array, tLo: Int32Array): void {
  for (let j = 0; j < 16; j++) {
    for (let b = 0; b < 4; b++) {
      baseHi[b] = hi;
      baseLo[b] = lo;
      // MUL64x (UIA2 4.3.1): shift left by one, reduce with 0x1b when the leftmost bit falls out.
      const carry = hi >>> 31;
      hi = (hi << 1) | (lo >>> 31);
      lo = (lo << 1) ^ (carry ? 0x1b : 0);
    }
    const o = j * 16;
    tHi[o] = 0;
    tLo[o] = 0;
    for (let n = 1; n < 16; n++) {
      const low = n & -n;
      const b = low === 1 ? 0 : low === 2 ? 1 : low === 4 ? 2 : 3;
      tHi[o + n] = tHi[o + (n ^ low)]! ^ baseHi[b]!;
      tLo[o + n] = tLo[o + (n ^ low)]! ^ baseLo[b]!;
    }
  }
}

let mulHi = 0;
let mulLo = 0;
/** (vh, vl) * P using the nibble tables; result in mulHi/mulLo. */
function mul64(vh: number, vl: number, tHi: Int32Array, tLo: Int32Array): void {
  let h = 0;
  let l = 0;
  for (let j = 0; j < 8; j++) {
    const a = j * 16 + ((vl >>> (4 * j)) & 15);
    const b = (j + 8) * 16 + ((vh >>> (4 * j)) & 15);
    h ^= tHi[a]! ^ tHi[b]!;
    l ^= tLo[a]! ^ tLo[b]!;
  }
  mulHi = h;
  mulLo = l;
}

const z5 = new Int32Array(5);
const tail = new Uint8Array(8);

/** Big-endian 32-bit word at `o`, as a signed 32-bit value. */
function readU32(m: Uint8Array, o: number): number {
  return (m[o]! << 24) | (m[o + 1]! << 16) | (m[o + 2]! << 8) | m[o + 3]!;
}

function macBytes(word: number): Uint8Array {
  return Uint8Array.of(word >>> 24, (word >>> 16) & 0xff, (word >>> 8) & 0xff, word & 0xff);
}

/** TS 33.401 B.2.2 (128-EIA1) = UIA2 with COUNT-I = COUNT, FRESH = BEARER || 0^27, IK = KEY. */
export function nia1(
  key: Uint8Array,
  count: number,
  bearer: number,
  direction: number,
  message: Uint8Array,
  lengthBits: number,
): Uint8Array {
  checkCipherInputs('128-NIA1', 1, key, count, bearer, direction, message, lengthBits);
  const fresh = bearer << 27;
  // UIA2 4.4: IV3 = COUNT-I, IV2 = FRESH, IV1 = DIRECTION<<31 ^ COUNT-I, IV0 = FRESH ^ DIRECTION<<15.
  snow3gKeystream(key, fresh ^ (direction << 15), count ^ (direction << 31), fresh, count | 0, z5, 5);
  buildMul64Table(z5[0]!, z5[1]!, pHi, pLo);
  // D - 1 = ceil(LENGTH/64) message blocks, the last zero-padded and masked to LENGTH bits.
  const blocks = Math.ceil(lengthBits / 64);
  let eh = 0;
  let el = 0;
  for (let i = 0; i < blocks; i++) {
    const o = i * 8;
    let mh: number;
    let ml: number;
    if (i < blocks - 1) {
      mh = readU32(message, o);
      ml = readU32(message, o + 4);
    } else {
      const bits = lengthBits - i * 64;
      const nb = (bits + 7) >>> 3;
      tail.fill(0);
      tail.set(message.subarray(o, o + nb));
      if (bits & 7) tail[nb - 1]! &= 0xff << (8 - (bits & 7));
      mh = readU32(tail, 0);
      ml = readU32(tail, 4);
    }
    mul64(eh ^ mh, el ^ ml, pHi, pLo);
    eh = mulHi;
    el = mulLo;
  }
  // EVAL ^= LENGTH (64-bit), EVAL = EVAL * Q, MAC-I = EVAL[0..31] ^ z5.
  eh ^= Math.floor(lengthBits / 0x100000000);
  el ^= lengthBits | 0;
  buildMul64Table(z5[2]!, z5[3]!, qHi, qLo);
  mul64(eh, el, qHi, qLo);
  return macBytes(mulHi ^ z5[4]!);
}

const cmacPrefix = new Uint8Array(8);

/** TS 33.401 B.2.3 (128-EIA2): AES-CMAC over COUNT || BEARER || DIRECTION || 0^26 || MESSAGE, first 32 bits. */
export function nia2(
  key: Uint8Array,
  count: number,
  bearer: number,
  direction: number,
  message: Uint8Array,
  lengthBits: number,
): Uint8Array {
  checkCipherInputs('128-NIA2', 2, key, count, bearer, direction, message, lengthBits);
  cmacPrefix[0] = count >>> 24;
  cmacPrefix[1] = count >>> 16;
  cmacPrefix[2] = count >>> 8;
  cmacPrefix[3] = count;
  cmacPrefix[4] = (bearer << 3) | (direction << 2);
  return aesCmacFor(key).macPrefixedBits(cmacPrefix, message, lengthBits).slice(0, 4);
}

const eia3Iv = new Uint8Array(16);
let eia3Ks = new Int32Array(64);
const msgTail = new Uint8Array(4);

/** EIA3 spec 4 (128-EIA3): T = XOR of z_i for each set message bit i, ^ z_LENGTH, MAC = T ^ z_{32(L-1)}. */
export function nia3(
  key: Uint8Array,
  count: number,
  bearer: number,
  direction: number,
  message: Uint8Array,
  lengthBits: number,
): Uint8Array {
  checkCipherInputs('128-NIA3', 3, key, count, bearer, direction, message, lengthBits);
  // EIA3 4.3: IV = COUNT || BEARER<<3 || 0^24 || COUNT ^ DIR<<31 || BEARER<<3 || 0^8 || DIR<<7 || 0^8.
  const iv = eia3Iv;
  iv[0] = count >>> 24;
  iv[1] = count >>> 16;
  iv[2] = count >>> 8;
  iv[3] = count;
  iv[4] = bearer << 3;
  iv[8] = iv[0] ^ (direction << 7);
  iv[9] = iv[1];
  iv[10] = iv[2];
  iv[11] = iv[3];
  iv[12] = iv[4];
  iv[14] = direction << 7;
  // L = ceil(LENGTH/32) + 2 keystream words.
  const mwords = Math.ceil(lengthBits / 32);
  const words = mwords + 2;
  if (eia3Ks.length < words) eia3Ks = new Int32Array(Math.max(words, eia3Ks.length * 2));
  const z = eia3Ks;
  zucKeystream(key, iv, z, words);
  let t = 0;
  for (let w = 0; w < mwords; w++) {
    let m: number;
    const o = w * 4;
    if (w < mwords - 1) {
      m = (message[o]! << 24) | (message[o + 1]! << 16) | (message[o + 2]! << 8) | message[o + 3]!;
    } else {
      const bits = lengthBits - w * 32;
      msgTail.fill(0);
      msgTail.set(message.subarray(o, o + ((bits + 7) >>> 3)));
      m = (msgTail[0]! << 24) | (msgTail[1]! << 16) | (msgTail[2]! << 8) | msgTail[3]!;
      if (bits < 32) m &= ~(0xffffffff >>> bits);
    }
    if (m === 0) continue;
    const k0 = z[w]!;
    const k1 = z[w + 1]!;
    if (m < 0) {
      // bit 0 (the leftmost) of the word: z_i is the aligned keystream word itself.
      t ^= k0;
      m &= 0x7fffffff;
    }
    // Remaining set bits, leftmost first: z at bit offset k = (k0 << k) | (k1 >>> (32 - k)), 1 <= k <= 31.
    while (m !== 0) {
      const k = Math.clz32(m);
      t ^= (k0 << k) | (k1 >>> (32 - k));
      m ^= 1 << (31 - k);
    }
  }
  // T ^= z_LENGTH, then MAC = T ^ z_{32(L-1)}.
  const wi = lengthBits >>> 5;
  const sh = lengthBits & 31;
  t ^= sh === 0 ? z[wi]! : (z[wi]! << sh) | (z[wi + 1]! >>> (32 - sh));
  t ^= z[words - 1]!;
  return macBytes(t);
}

/** 128-NIA0 (TS 33.401 5.1.4.2 null integrity): MAC-I of 32 zero bits. */
export function nia0(
  key: Uint8Array,
  count: number,
  bearer: number,
  direction: number,
  message: Uint8Array,
  lengthBits: number,
): Uint8Array {
  checkCipherInputs('128-NIA0', 0, key, count, bearer, direction, message, lengthBits);
  return new Uint8Array(4);
}

/** 128-NIA<alg> dispatch: the 4-octet MAC-I over the first `lengthBits` bits of `message`. */
export function nia(
  alg: NiaAlgorithm,
  key: Uint8Array,
  count: number,
  bearer: number,
  direction: number,
  message: Uint8Array,
  lengthBits: number,
): Uint8Array {
  switch (alg) {
    case 1:
      return nia1(key, count, bearer, direction, message, lengthBits);
    case 2:
      return nia2(key, count, bearer, direction, message, lengthBits);
    case 3:
      return nia3(key, count, bearer, direction, message, lengthBits);
    case 0:
      return nia0(key, count, bearer, direction, message, lengthBits);
    default:
      throw new CryptoInputError('algorithm', `128-NIA: algorithm must be 0, 1, 2 or 3, got ${alg}`);
  }
}

/** Recomputes MAC-I and compares it with `macI` in constant time (TS 33.401 B.2: the receiver's XMAC-I check). */
export function niaVerify(
  alg: NiaAlgorithm,
  key: Uint8Array,
  count: number,
  bearer: number,
  direction: number,
  message: Uint8Array,
  lengthBits: number,
  macI: Uint8Array,
): boolean {
  requireLength('MAC-I', macI, 4);
  return constantTimeEqual(nia(alg, key, count, bearer, direction, message, lengthBits), macI);
}
