// The pooled CSPRNG: fresh octets every call across pool refills, large requests bypass the pool, bad counts throw.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomOctets } from '../../crypto-core/random-pool.js';

test('randomOctets: right lengths, never the same value twice across many pool refills, roughly uniform octets', () => {
  const seen = new Set<string>();
  const counts = new Array<number>(256).fill(0);
  // 3,000 x 16 octets = 12 pool refills, with odd sizes in between so draws straddle refill boundaries.
  for (let i = 0; i < 3000; i++) {
    const v = randomOctets(16);
    assert.equal(v.length, 16);
    seen.add(Buffer.from(v).toString('hex'));
    for (const b of v) counts[b]!++;
    assert.equal(randomOctets(i % 7).length, i % 7);
  }
  assert.equal(seen.size, 3000);
  // 48,000 octets: each value expected 187.5 times; a stuck or zeroed pool would be far off.
  assert.ok(
    Math.min(...counts) > 100 && Math.max(...counts) < 300,
    `${Math.min(...counts)}..${Math.max(...counts)}`,
  );
  const big = randomOctets(5000);
  assert.equal(big.length, 5000);
  assert.ok(big.some((b) => b !== 0));
  assert.equal(randomOctets(0).length, 0);
  assert.throws(() => randomOctets(-1), RangeError);
  assert.throws(() => randomOctets(1.5), RangeError);
});
