// AES-128-CMAC: RFC 4493 (octet strings) and NIST SP 800-38B (bit strings, used by 128-NIA2), over node:crypto AES.
import { type Cipher, createCipheriv } from 'node:crypto';
import { CryptoInputError, requireLength } from './errors.js';

const ZERO16 = new Uint8Array(16);
const EMPTY = new Uint8Array(0);

/** RFC 4493 2.3 doubling in GF(2^128) (x * b, reduction constant Rb = 0x87), into `out`. */
function dbl(b: Uint8Array, out: Uint8Array): void {
  const carry = b[0]! >>> 7;
  for (let i = 0; i < 15; i++) out[i] = ((b[i]! << 1) | (b[i + 1]! >>> 7)) & 0xff;
  out[15] = ((b[15]! << 1) & 0xff) ^ (carry ? 0x87 : 0);
}

/**
 * AES-CMAC with a fixed key: subkeys (RFC 4493 2.3) computed once, and one AES-128-CBC cipher object reused
 * for every message. The CBC object keeps chaining across calls; each message's first block is XORed with the
 * previous chaining value so that every MAC starts from a zero IV, as RFC 4493 2.4 requires.
 */
export class AesCmac {
  readonly k1 = new Uint8Array(16);
  readonly k2 = new Uint8Array(16);
  private readonly cbc: Cipher;
  private readonly chain = new Uint8Array(16);
  private buf = new Uint8Array(0);

  constructor(key: Uint8Array) {
    requireLength('AES-CMAC key', key, 16);
    const ecb = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
    const l = new Uint8Array(ecb.update(ZERO16));
    dbl(l, this.k1);
    dbl(this.k1, this.k2);
    this.cbc = createCipheriv('aes-128-cbc', key, ZERO16).setAutoPadding(false);
  }

  /** RFC 4493 2.4: the 128-bit MAC of an octet string. */
  mac(message: Uint8Array): Uint8Array {
    return this.macBits(message, message.length * 8);
  }

  /** NIST SP 800-38B 6.2: the 128-bit MAC of the first `lengthBits` bits of `message` (bits beyond are ignored). */
  macBits(message: Uint8Array, lengthBits: number): Uint8Array {
    return this.macPrefixedBits(EMPTY, message, lengthBits);
  }

  /**
   * NIST SP 800-38B 6.2 over the bit string `prefix` (whole octets) || first `lengthBits` bits of `message`,
   * without the caller concatenating them (128-NIA2 prefixes COUNT || BEARER || DIRECTION || 0^26).
   */
  macPrefixedBits(prefix: Uint8Array, message: Uint8Array, messageBits: number): Uint8Array {
    if (!Number.isInteger(messageBits) || messageBits < 0) {
      throw new CryptoInputError(
        'length_range',
        `CMAC length must be a non-negative integer, got ${messageBits}`,
      );
    }
    if (messageBits > message.length * 8) {
      throw new CryptoInputError(
        'length_beyond_buffer',
        `CMAC length ${messageBits} bits exceeds the ${message.length}-octet message`,
      );
    }
    const lengthBits = prefix.length * 8 + messageBits;
    const complete = lengthBits > 0 && lengthBits % 128 === 0;
    const n = complete ? lengthBits / 128 : Math.floor(lengthBits / 128) + 1;
    const total = n * 16;
    if (this.buf.length < total) this.buf = new Uint8Array(Math.max(total, 64));
    const m = this.buf.subarray(0, total);
    const nbytes = (lengthBits + 7) >>> 3;
    m.set(prefix, 0);
    m.set(message.subarray(0, nbytes - prefix.length), prefix.length);
    m.fill(0, nbytes);
    const last = total - 16;
    if (complete) {
      for (let i = 0; i < 16; i++) m[last + i]! ^= this.k1[i]!;
    } else {
      const rem = lengthBits & 7;
      const byteIdx = lengthBits >>> 3;
      if (rem) m[byteIdx] = (m[byteIdx]! & (0xff00 >>> rem)) | (0x80 >>> rem);
      else m[byteIdx] = 0x80;
      for (let i = 0; i < 16; i++) m[last + i]! ^= this.k2[i]!;
    }
    // Cancel the chaining carried over from the previous call (see the class comment).
    for (let i = 0; i < 16; i++) m[i]! ^= this.chain[i]!;
    const out = this.cbc.update(m);
    const tag = new Uint8Array(16);
    for (let i = 0; i < 16; i++) tag[i] = out[last + i]!;
    this.chain.set(tag);
    return tag;
  }
}

// Small cache of AesCmac instances for the functional API (keys used by a bearer repeat for many packets).
const CACHE_MAX = 32;
const cache = new Map<string, AesCmac>();

/** An AesCmac for `key`, reused across calls (at most 32 keys cached, oldest evicted). */
export function aesCmacFor(key: Uint8Array): AesCmac {
  requireLength('AES-CMAC key', key, 16);
  const id = Buffer.from(key.buffer, key.byteOffset, 16).toString('latin1');
  let c = cache.get(id);
  if (c === undefined) {
    c = new AesCmac(key);
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(id, c);
  }
  return c;
}

/** RFC 4493 2.4 AES-CMAC(K, M): 16-octet MAC of an octet string. */
export function aesCmac(key: Uint8Array, message: Uint8Array): Uint8Array {
  return aesCmacFor(key).mac(message);
}

/** NIST SP 800-38B AES-CMAC over the first `lengthBits` bits of `message`. */
export function aesCmacBits(key: Uint8Array, message: Uint8Array, lengthBits: number): Uint8Array {
  return aesCmacFor(key).macBits(message, lengthBits);
}
