import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import {
  batchInvMod,
  invMod,
  pfFixedBaseTable,
  pfPow,
  pfPowFixed,
  pfRepresentative,
  signedWindowDigits,
  wnaf,
} from '../../crypto-core/ibc-algebra.js';
import { P256 } from '../../crypto-core/rfc6507-eccsi.js';
import { SAKKE_PARAMETER_SET_1 as PS, SAKKE_CURVE } from '../../crypto-core/rfc6508-sakke.js';

const rnd = (bytes: number, m: bigint) => (BigInt(`0x${randomBytes(bytes).toString('hex')}`) % (m - 1n)) + 1n;

test('invMod (Lehmer) and batchInvMod give true inverses for 1024-bit, 256-bit and small moduli', () => {
  for (const m of [PS.p, PS.q, P256.p, P256.n, 65537n]) {
    const xs = Array.from({ length: 40 }, () => rnd(140, m));
    xs.push(1n, m - 1n, 1n << 52n, (1n << 53n) + 1n);
    for (const x of xs.filter((v) => v < m)) assert.equal((invMod(x, m) * x) % m, 1n);
    const inv = batchInvMod(
      xs.filter((v) => v < m),
      m,
    );
    const small = xs.filter((v) => v < m);
    for (let i = 0; i < small.length; i++) assert.equal((inv[i]! * small[i]!) % m, 1n);
  }
  assert.throws(() => invMod(0n, PS.p), { code: 'not_invertible' });
  assert.throws(() => invMod(6n, 9n), { code: 'not_invertible' });
});

test('signed window digits and width-w NAF reconstruct the scalar', () => {
  for (let i = 0; i < 20; i++) {
    const k = rnd(128, PS.q);
    const d = signedWindowDigits(k, 8, Math.ceil(1022 / 8) + 1);
    assert.equal(
      [...d].reduceRight((acc, x) => (acc << 8n) + BigInt(x), 0n),
      k,
    );
    for (const w of [2, 5]) {
      const n = wnaf(k, w);
      assert.equal(
        [...n].reduceRight((acc, x) => 2n * acc + BigInt(x), 0n),
        k,
      );
    }
  }
});

test('fixed-base tables, batch-affine sums and wNAF multiplication agree on both curves', () => {
  for (const [E, B, bits] of [
    [SAKKE_CURVE, PS.P, 1022],
    [
      P256,
      {
        x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
        y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
      },
      256,
    ],
  ] as const) {
    const table = E.fixedBaseTable(B, 4, bits);
    for (let i = 0; i < 3; i++) {
      const k = rnd(bits / 8 + 8, E.n);
      const viaMul = E.toAffine(E.mul(B, k));
      assert.deepEqual(E.toAffine(E.mulFixed(table, k)), viaMul);
      assert.deepEqual(E.toAffine(E.sumAffine(E.collectFixed([], table, k), 4)), viaMul);
    }
    assert.equal(E.toAffine(E.mul(B, E.n)), null, '[n]B is the point at infinity');
    assert.equal(E.toAffine(E.sumAffine([B, { x: B.x, y: E.p - B.y }], 1)), null, 'B + (-B) = infinity');
  }
});

test('PF_p fixed-base exponentiation equals square-and-multiply', () => {
  const table = pfFixedBaseTable(PS.g, PS.p, 5, 1022);
  for (let i = 0; i < 3; i++) {
    const k = rnd(136, PS.q);
    assert.equal(
      pfRepresentative(pfPowFixed(table, k, PS.p), PS.p),
      pfRepresentative(pfPow(PS.g, k, PS.p), PS.p),
    );
  }
});
