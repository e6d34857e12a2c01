import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { XOR_SIMD, xorInto } from '../../crypto-core/xor-simd.js';

test('xorInto (WebAssembly SIMD) equals an octet-wise XOR: lengths around 16-octet lanes and chunks, odd offsets, in place', () => {
  assert.equal(XOR_SIMD, true, 'Node 20 has WebAssembly SIMD: the fast path must load');
  for (const n of [0, 1, 15, 16, 17, 1199, 1200, 16_383, 16_384, 16_385, 40_000]) {
    for (const [srcOff, dstOff, ksOff] of [
      [0, 0, 0],
      [3, 5, 7],
    ] as const) {
      const src = randomBytes(n + srcOff).subarray(srcOff);
      const ks = randomBytes(n + ksOff + 9);
      const dst = Uint8Array.from(randomBytes(n + dstOff + 4));
      const before = Uint8Array.from(dst);
      xorInto(dst, dstOff, src, ks, ksOff);
      for (let i = 0; i < n; i++) assert.equal(dst[dstOff + i], src[i]! ^ ks[ksOff + i]!, `n=${n} i=${i}`);
      assert.deepEqual(dst.subarray(0, dstOff), before.subarray(0, dstOff), 'octets before dstOff untouched');
      assert.deepEqual(
        dst.subarray(dstOff + n),
        before.subarray(dstOff + n),
        'octets after the result untouched',
      );
      // In place: src is that region of dst.
      const copy = Uint8Array.from(dst);
      xorInto(dst, dstOff, dst.subarray(dstOff, dstOff + n), ks, ksOff);
      for (let i = 0; i < n; i++) assert.equal(dst[dstOff + i], copy[dstOff + i]! ^ ks[ksOff + i]!);
    }
  }
});
