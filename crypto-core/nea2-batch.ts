// 128-NEA2 for a stream of PDUs under one key, BEARER and DIRECTION (TS 33.401 B.1.3): the AES-CTR keystream of
// 32 consecutive COUNTs is made by ONE AES-128-ECB call on their counter blocks (T1 = COUNT || BEARER || DIRECTION ||
// 0^26 || 0^64, Ti+1 = Ti + 1), instead of one createCipheriv per PDU; XOR in 32-bit words. Same output as nea2()
// (tests/crypto-core/nea2-batch.test.ts); PDUs longer than MAX_BYTES or COUNTs outside the cached batches fall back.
import { type Cipher, createCipheriv } from 'node:crypto';
import { nea2 } from './nea.js';

const BATCH = 32;
/** Longest payload served from the cache (longer ones use nea2()). */
export const NEA2_BATCH_MAX_BYTES = 1536;
const BLOCKS = NEA2_BATCH_MAX_BYTES / 16;

export class Nea2Stream {
  private readonly ecb: Cipher;
  private readonly bd: number;
  private readonly counters = new Uint8Array(BATCH * NEA2_BATCH_MAX_BYTES);
  /** Two cached batches (base COUNT -> keystream of BATCH * MAX_BYTES octets). */
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

  private batch(base: number): Uint8Array {
    for (const c of this.cache) if (c.base === base) return c.ks;
    const ctr = this.counters;
    const dv = new DataView(ctr.buffer);
    for (let p = 0; p < BATCH; p++) {
      const count = (base + p) >>> 0;
      for (let j = 0; j < BLOCKS; j++) {
        const o = (p * BLOCKS + j) << 4;
        dv.setUint32(o, count);
        ctr[o + 4] = this.bd;
        dv.setUint32(o + 12, j);
      }
    }
    const out = this.ecb.update(ctr);
    const ks = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    this.cache.push({ base, ks });
    if (this.cache.length > 2) this.cache.shift();
    return ks;
  }

  /**
   * Writes nea2(key, count, bearer, direction, src, 8 * src.length) into dst at `offset` (no allocation; src may be
   * exactly that region of dst, for in-place use); fastest when dst.byteOffset + offset is a multiple of 4.
   */
  applyInto(count: number, src: Uint8Array, dst: Uint8Array, offset: number): void {
    const n = src.length;
    if (n > NEA2_BATCH_MAX_BYTES || count > 0xffffffff - BATCH) {
      dst.set(nea2(this.key, count, this.bearer, this.direction, src, n * 8), offset);
      return;
    }
    const base = count - (count % BATCH);
    const ks = this.batch(base);
    const s = (count - base) * NEA2_BATCH_MAX_BYTES;
    // In place (src is exactly dst[offset..]) needs no copy.
    if (src.buffer !== dst.buffer || src.byteOffset !== dst.byteOffset + offset) dst.set(src, offset);
    const at = dst.byteOffset + offset;
    if ((at & 3) === 0 && ((ks.byteOffset + s) & 3) === 0) {
      const words = n >>> 2;
      const o32 = new Uint32Array(dst.buffer, at, words);
      const k32 = new Uint32Array(ks.buffer, ks.byteOffset + s, words);
      for (let i = 0; i < words; i++) o32[i]! ^= k32[i]!;
      for (let i = words << 2; i < n; i++) dst[offset + i]! ^= ks[s + i]!;
    } else {
      for (let i = 0; i < n; i++) dst[offset + i]! ^= ks[s + i]!;
    }
  }

  /** nea2(key, count, bearer, direction, data, 8 * data.length). */
  apply(count: number, data: Uint8Array): Uint8Array {
    const n = data.length;
    if (n > NEA2_BATCH_MAX_BYTES || count > 0xffffffff - BATCH) {
      return nea2(this.key, count, this.bearer, this.direction, data, n * 8);
    }
    const base = count - (count % BATCH);
    const ks = this.batch(base);
    const off = ks.byteOffset + (count - base) * NEA2_BATCH_MAX_BYTES;
    const out = new Uint8Array(n);
    out.set(data);
    const words = n >>> 2;
    if ((off & 3) === 0) {
      const o32 = new Uint32Array(out.buffer, 0, words);
      const k32 = new Uint32Array(ks.buffer, off, words);
      for (let i = 0; i < words; i++) o32[i]! ^= k32[i]!;
      for (let i = words << 2; i < n; i++) out[i]! ^= ks[off - ks.byteOffset + i]!;
    } else {
      const s = off - ks.byteOffset;
      for (let i = 0; i < n; i++) out[i]! ^= ks[s + i]!;
    }
    return out;
  }
}
