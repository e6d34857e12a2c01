// 128-NEA1/2/3 ciphering (TS 33.401 Annex B.1 / TS 33.501 Annex D.2; EEA1 = UEA2 with CK = KEY, EEA2 = AES-128-CTR,
// EEA3 per ETSI/SAGE EEA3 spec), with the 3GPP input layout KEY, COUNT, BEARER, DIRECTION, LENGTH (in bits).
//
// Bit convention: the output has ceil(LENGTH/8) octets; the first LENGTH bits are the ciphertext (or plaintext),
// the (8 - LENGTH mod 8) trailing bits of the last octet are always zero. Input bits beyond LENGTH are ignored.
import { createCipheriv } from 'node:crypto';
import { CryptoInputError } from './errors.js';
import { snow3gKeystream } from './snow3g.js';
import { zucKeystream } from './zuc.js';

/** Algorithm identities of TS 33.401 5.1.3.2 / TS 33.501 5.11.1.1: 0 = NEA0 (null), 1 = SNOW 3G, 2 = AES, 3 = ZUC. */
export type NeaAlgorithm = 0 | 1 | 2 | 3;

/** Validates the common 3GPP ciphering/integrity inputs; throws CryptoInputError with a code naming the field. */
export function checkCipherInputs(
  what: string,
  alg: number,
  key: Uint8Array,
  count: number,
  bearer: number,
  direction: number,
  data: Uint8Array,
  lengthBits: number,
): void {
  if (alg !== 0 && alg !== 1 && alg !== 2 && alg !== 3) {
    throw new CryptoInputError('algorithm', `${what}: algorithm must be 0, 1, 2 or 3, got ${alg}`);
  }
  if (!(key instanceof Uint8Array) || key.length !== 16) {
    throw new CryptoInputError('key_length', `${what}: KEY must be 16 octets, got ${key?.length}`);
  }
  if (!Number.isInteger(count) || count < 0 || count > 0xffffffff) {
    throw new CryptoInputError(
      'count_range',
      `${what}: COUNT must be a 32-bit unsigned integer, got ${count}`,
    );
  }
  if (!Number.isInteger(bearer) || bearer < 0 || bearer > 31) {
    throw new CryptoInputError('bearer_range', `${what}: BEARER must be 0..31, got ${bearer}`);
  }
  if (direction !== 0 && direction !== 1) {
    throw new CryptoInputError('direction', `${what}: DIRECTION must be 0 or 1, got ${direction}`);
  }
  if (!(data instanceof Uint8Array)) throw new CryptoInputError('type', `${what}: data must be a Uint8Array`);
  if (!Number.isInteger(lengthBits) || lengthBits < 0 || lengthBits > 0xffffffff) {
    throw new CryptoInputError(
      'length_range',
      `${what}: LENGTH must be a non-negative integer, got ${lengthBits}`,
    );
  }
  if (lengthBits > data.length * 8) {
    throw new CryptoInputError(
      'length_beyond_buffer',
      `${what}: LENGTH ${lengthBits} bits exceeds the ${data.length}-octet buffer`,
    );
  }
}

let ksScratch = new Int32Array(512);
function keystreamBuffer(words: number): Int32Array {
  if (ksScratch.length < words) ksScratch = new Int32Array(Math.max(words, ksScratch.length * 2));
  return ksScratch;
}

/** XORs `nbytes` of `data` with big-endian keystream words into a new array. */
function xorKeystream(data: Uint8Array, ks: Int32Array, nbytes: number): Uint8Array {
  const out = new Uint8Array(nbytes);
  const full = nbytes >>> 2;
  let o = 0;
  for (let w = 0; w < full; w++, o += 4) {
    const k = ks[w]!;
    out[o] = data[o]! ^ (k >>> 24);
    out[o + 1] = data[o + 1]! ^ (k >>> 16);
    out[o + 2] = data[o + 2]! ^ (k >>> 8);
    out[o + 3] = data[o + 3]! ^ k;
  }
  if (o < nbytes) {
    const k = ks[full]!;
    for (let sh = 24; o < nbytes; o++, sh -= 8) out[o] = data[o]! ^ (k >>> sh);
  }
  return out;
}

function maskTail(out: Uint8Array, lengthBits: number): Uint8Array {
  const rem = lengthBits & 7;
  if (rem) out[out.length - 1]! &= 0xff << (8 - rem);
  return out;
}

/** TS 33.401 B.1.2 (128-EEA1): UEA2 keystream with IV = (BEARER||DIRECTION||0^26, COUNT, BEARER||DIRECTION||0^26, COUNT). */
export function nea1(
  key: Uint8Array,
  count: number,
  bearer: number,
  direction: number,
  data: Uint8Array,
  lengthBits: number,
): Uint8Array {
  checkCipherInputs('128-NEA1', 1, key, count, bearer, direction, data, lengthBits);
  const words = Math.ceil(lengthBits / 32);
  const ks = keystreamBuffer(words);
  const bd = (bearer << 27) | (direction << 26);
  snow3gKeystream(key, bd, count | 0, bd, count | 0, ks, words);
  return maskTail(xorKeystream(data, ks, (lengthBits + 7) >>> 3), lengthBits);
}

const ctrIv = new Uint8Array(16);

/** TS 33.401 B.1.3 (128-EEA2): AES-128-CTR with T1 = COUNT || BEARER || DIRECTION || 0^26 || 0^64 (node:crypto). */
export function nea2(
  key: Uint8Array,
  count: number,
  bearer: number,
  direction: number,
  data: Uint8Array,
  lengthBits: number,
): Uint8Array {
  checkCipherInputs('128-NEA2', 2, key, count, bearer, direction, data, lengthBits);
  const nbytes = (lengthBits + 7) >>> 3;
  ctrIv[0] = count >>> 24;
  ctrIv[1] = count >>> 16;
  ctrIv[2] = count >>> 8;
  ctrIv[3] = count;
  ctrIv[4] = (bearer << 3) | (direction << 2);
  const enc = createCipheriv('aes-128-ctr', key, ctrIv).update(data.subarray(0, nbytes));
  const out = new Uint8Array(enc.buffer, enc.byteOffset, enc.byteLength);
  return maskTail(out, lengthBits);
}

const zucIv = new Uint8Array(16);

/** EEA3 spec 3 (128-EEA3): ZUC with IV = COUNT || BEARER||DIRECTION||00 || 0^24, repeated twice. */
export function nea3(
  key: Uint8Array,
  count: number,
  bearer: number,
  direction: number,
  data: Uint8Array,
  lengthBits: number,
): Uint8Array {
  checkCipherInputs('128-NEA3', 3, key, count, bearer, direction, data, lengthBits);
  const words = Math.ceil(lengthBits / 32);
  const ks = keystreamBuffer(words);
  zucIv[0] = zucIv[8] = count >>> 24;
  zucIv[1] = zucIv[9] = count >>> 16;
  zucIv[2] = zucIv[10] = count >>> 8;
  zucIv[3] = zucIv[11] = count;
  zucIv[4] = zucIv[12] = (bearer << 3) | (direction << 2);
  zucKeystream(key, zucIv, ks, words);
  return maskTail(xorKeystream(data, ks, (lengthBits + 7) >>> 3), lengthBits);
}

/** 128-NEA0 (TS 33.401 5.1.3.2 null ciphering): output = the first LENGTH bits of the input. */
export function nea0(
  key: Uint8Array,
  count: number,
  bearer: number,
  direction: number,
  data: Uint8Array,
  lengthBits: number,
): Uint8Array {
  checkCipherInputs('128-NEA0', 0, key, count, bearer, direction, data, lengthBits);
  return maskTail(data.slice(0, (lengthBits + 7) >>> 3), lengthBits);
}

/** 128-NEA<alg> dispatch: encrypts or decrypts (the same operation) the first `lengthBits` bits of `data`. */
export function nea(
  alg: NeaAlgorithm,
  key: Uint8Array,
  count: number,
  bearer: number,
  direction: number,
  data: Uint8Array,
  lengthBits: number,
): Uint8Array {
  switch (alg) {
    case 1:
      return nea1(key, count, bearer, direction, data, lengthBits);
    case 2:
      return nea2(key, count, bearer, direction, data, lengthBits);
    case 3:
      return nea3(key, count, bearer, direction, data, lengthBits);
    case 0:
      return nea0(key, count, bearer, direction, data, lengthBits);
    default:
      throw new CryptoInputError('algorithm', `128-NEA: algorithm must be 0, 1, 2 or 3, got ${alg}`);
  }
}
