// 128-NEA2 for a stream of PDUs under one key, BEARER and DIRECTION (TS 33.401 B.1.3): the AES-CTR keystream of
// 32 consecutive COUNTs is made by ONE AES-128-ECB call on their counter blocks (T1 = COUNT || BEARER || DIRECTION ||
// 0^26 || 0^64, Ti+1 = Ti + 1), instead of one createCipheriv per PDU; XOR with WebAssembly SIMD (xor-simd.ts). Same output as nea2()
// (tests/crypto-core/nea2-batch.test.ts); PDUs longer than MAX_BYTES or COUNTs outside the cached batches fall back.
import { type Cipher, createCipheriv } from 'node:crypto';
import { nea2 } from './nea.js';
import { xorInto } from './xor-simd.js';

const BATCH = 32;
const BIG_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 0;
/** Longest payload served from the cache (longer ones use nea2()). */
export const NEA2_BATCH_MAX_BYTES = 1536;

export class Nea2Stream {
  private readonly ecb: Cipher;
  private readonly bd: number;
  /**
   * Keystream octets kept per COUNT: the longest PDU seen so far rounded up to a block (at least 64), so a stream of
   * 1,200-octet PDUs costs 1,200 octets of AES per PDU, not MAX_BYTES. A longer PDU grows it (and drops the cache).
   */
  private slot = 0;
  /** Counter blocks of one batch; only the COUNT words change from batch to batch. */
  private counters = new Uint8Array(0);
  private counters32 = new Uint32Array(0);
  /** Two cached batches (base COUNT -> keystream of BATCH * slot octets). */
  private cache: { base: number; ks: Uint8Array }[] = [];

  constructor(
    private readonly key: Uint8Array,
    private readonly bearer: number,
    private readonly direction: number,
  ) {
    this.ecb = createCipheriv('aes-128-ecb', key, null);
    this.ecb.setAutoPadding(false);
    this.bd = ((bearer << 3) | (direction << 2)) & 0xff;
  }

  private grow(n: number): void {
    this.slot = Math.min(NEA2_BATCH_MAX_BYTES, Math.max(64, (n + 15) & ~15));
    const blocks = this.slot >>> 4;
    this.counters = new Uint8Array(BATCH * this.slot);
    this.counters32 = new Uint32Array(this.counters.buffer);
    const dv = new DataView(this.counters.buffer);
    for (let p = 0; p < BATCH; p++) {
      for (let j = 0; j < blocks; j++) {
        const o = (p * blocks + j) << 4;
        this.counters[o + 4] = this.bd;
        dv.setUint32(o + 12, j);
      }
    }
    this.cache = [];
  }

  /** Keystream of the batch holding `count`, and the offset of `count`'s slot in it; n = PDU length. */
  private keystream(count: number, n: number): [Uint8Array, number] {
    if (n > this.slot) this.grow(n);
    const base = count - (count % BATCH);
    const s = (count - base) * this.slot;
    for (const c of this.cache) if (c.base === base) return [c.ks, s];
    const blocks = this.slot >>> 4;
    // COUNT is the first, big-endian word of every counter block: byte-swap once, store as a host-order word.
    const c32 = this.counters32;
    for (let p = 0; p < BATCH; p++) {
      const c = (base + p) >>> 0;
      const w = BIG_ENDIAN_HOST
        ? c
        : ((c >>> 24) | ((c >>> 8) & 0xff00) | ((c & 0xff00) << 8) | (c << 24)) >>> 0;
      for (let j = 0, o = p * blocks * 4; j < blocks; j++, o += 4) c32[o] = w;
    }
    const out = this.ecb.update(this.counters);
    const ks = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    this.cache.push({ base, ks });
    if (this.cache.length > 2) this.cache.shift();
    return [ks, s];
  }

  /**
   * Writes nea2(key, count, bearer, direction, src, 8 * src.length) into dst at `offset` (no allocation; src may be
   * exactly that region of dst, for in-place use).
   */
  applyInto(count: number, src: Uint8Array, dst: Uint8Array, offset: number): void {
    const n = src.length;
    if (n > NEA2_BATCH_MAX_BYTES || count > 0xffffffff - BATCH) {
      dst.set(nea2(this.key, count, this.bearer, this.direction, src, n * 8), offset);
      return;
    }
    const [ks, s] = this.keystream(count, n);
    xorInto(dst, offset, src, ks, s);
  }

  /** nea2(key, count, bearer, direction, data, 8 * data.length). */
  apply(count: number, data: Uint8Array): Uint8Array {
    const out = new Uint8Array(data.length);
    this.applyInto(count, data, out, 0);
    return out;
  }
}
