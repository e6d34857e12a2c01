import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type NeaAlgorithm, nea } from '../../crypto-core/nea.js';
import { type NiaAlgorithm, nia, niaVerify } from '../../crypto-core/nia.js';

const params = fc.record({
  key: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  count: fc.nat({ max: 0xffffffff }),
  bearer: fc.nat({ max: 31 }),
  direction: fc.constantFrom(0, 1),
  data: fc.uint8Array({ minLength: 1, maxLength: 300 }),
  cut: fc.double({ min: 0, max: 1, noNaN: true }),
});

for (const alg of [1, 2, 3] as const) {
  test(`128-NEA${alg} property: decrypt(encrypt(x)) = first LENGTH bits of x, tail bits zero, for random bit lengths (300 runs)`, () => {
    fc.assert(
      fc.property(params, ({ key, count, bearer, direction, data, cut }) => {
        const len = Math.floor(cut * data.length * 8);
        const ct = nea(alg as NeaAlgorithm, key, count, bearer, direction, data, len);
        assert.equal(ct.length, (len + 7) >>> 3);
        if (len & 7) assert.equal(ct[ct.length - 1]! & (0xff >>> (len & 7)), 0);
        const pt = nea(alg as NeaAlgorithm, key, count, bearer, direction, ct, len);
        const expected = data.slice(0, (len + 7) >>> 3);
        if (len & 7) expected[expected.length - 1]! &= 0xff << (8 - (len & 7));
        assert.deepEqual(pt, expected);
      }),
      { numRuns: 300 },
    );
  });

  test(`128-NIA${alg} property: flipping any single bit within LENGTH changes MAC-I; bits beyond LENGTH do not (300 runs)`, () => {
    fc.assert(
      fc.property(params, fc.nat(), ({ key, count, bearer, direction, data, cut }, pick) => {
        const len = Math.max(1, Math.floor(cut * data.length * 8));
        const mac = nia(alg as NiaAlgorithm, key, count, bearer, direction, data, len);
        const bit = pick % len;
        const flipped = data.slice();
        flipped[bit >>> 3]! ^= 0x80 >>> (bit & 7);
        assert.ok(
          !niaVerify(alg as NiaAlgorithm, key, count, bearer, direction, flipped, len, mac),
          `bit ${bit} of ${len}`,
        );
        if (len < data.length * 8) {
          const outside = data.slice();
          const ob = len + (pick % (data.length * 8 - len));
          outside[ob >>> 3]! ^= 0x80 >>> (ob & 7);
          assert.ok(niaVerify(alg as NiaAlgorithm, key, count, bearer, direction, outside, len, mac));
        }
      }),
      { numRuns: 300 },
    );
  });
}
