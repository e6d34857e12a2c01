import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { nea2 } from '../../crypto-core/nea.js';
import { NEA2_BATCH_MAX_BYTES, Nea2Stream } from '../../crypto-core/nea2-batch.js';

test('Nea2Stream equals 128-NEA2 (TS 33.401 B.1.3) for random keys, COUNTs (batch edges, near 2^32), lengths', () => {
  const counts = fc.oneof(
    fc.integer({ min: 0, max: 100 }),
    fc.integer({ min: 0, max: 0xffffffff }),
    fc.integer({ min: 0xffffffff - 70, max: 0xffffffff }),
  );
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.integer({ min: 0, max: 31 }),
      fc.integer({ min: 0, max: 1 }),
      fc.array(fc.tuple(counts, fc.integer({ min: 0, max: NEA2_BATCH_MAX_BYTES + 100 })), { maxLength: 12 }),
      (key, bearer, direction, pdus) => {
        const s = new Nea2Stream(key, bearer, direction);
        for (const [count, len] of pdus) {
          // Unaligned input views too (datagram payloads sit at odd offsets).
          const data = randomBytes(len + 3).subarray(3);
          assert.deepEqual(s.apply(count, data), nea2(key, count, bearer, direction, data, len * 8));
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('Nea2Stream over a sequential stream (the PC5 sender) and a reordered one (the receiver)', () => {
  const key = randomBytes(16);
  const s = new Nea2Stream(key, 1, 0);
  const order = Array.from({ length: 200 }, (_, i) => i);
  for (let i = 0; i < order.length; i += 7) order.reverse(); // deterministic shuffle-ish
  for (const c of [...Array(200).keys(), ...order]) {
    const data = randomBytes(1200);
    assert.deepEqual(s.apply(c, data), nea2(key, c, 1, 0, data, 9600));
  }
});

test('Nea2Stream.applyInto writes the same octets at aligned and unaligned offsets', () => {
  const key = randomBytes(16);
  const s = new Nea2Stream(key, 3, 1);
  for (const [count, len, off] of [
    [0, 1200, 8],
    [5, 1200, 5],
    [31, 7, 0],
    [32, 1400, 3],
    [0xffffffff - 3, 100, 4],
    [9, 2000, 4],
  ] as const) {
    const src = randomBytes(len + 1).subarray(1);
    const dst = new Uint8Array(off + len + 2);
    s.applyInto(count, src, dst, off);
    assert.deepEqual(dst.subarray(off, off + len), nea2(key, count, 3, 1, src, len * 8));
  }
});
