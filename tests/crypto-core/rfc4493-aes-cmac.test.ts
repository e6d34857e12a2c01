import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cmac } from '@noble/ciphers/aes.js';
import fc from 'fast-check';
import { AesCmac, aesCmac, aesCmacBits } from '../../crypto-core/aes-cmac.js';
import { fromHex, toHex } from '../../crypto-core/bytes.js';
import { CryptoInputError } from '../../crypto-core/errors.js';
import { loadVectors } from '../helpers/paths.js';

interface CmacFile {
  key: string;
  K1: string;
  K2: string;
  vectors: { example: number; M: string; mac: string }[];
}

const f = loadVectors<CmacFile>('aes_cmac_rfc4493.json');

test(`RFC 4493 AES-CMAC subkeys K1/K2 and examples: ${f.vectors.length} of 4 official vectors`, () => {
  assert.equal(f.vectors.length, 4);
  const key = fromHex(f.key);
  const c = new AesCmac(key);
  assert.equal(toHex(c.k1), f.K1);
  assert.equal(toHex(c.k2), f.K2);
  // Run twice, in both orders, to check that reusing the CBC object across messages keeps MACs independent.
  for (const v of [...f.vectors, ...[...f.vectors].reverse()]) {
    assert.equal(toHex(c.mac(fromHex(v.M))), v.mac, `example ${v.example}`);
    assert.equal(toHex(aesCmac(key, fromHex(v.M))), v.mac, `example ${v.example} (functional API)`);
  }
});

test('RFC 4493 AES-CMAC agrees with @noble/ciphers cmac on random keys and lengths 0..100 (200 runs)', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.uint8Array({ maxLength: 100 }),
      (k, m) => {
        assert.equal(toHex(aesCmac(k, m)), toHex(cmac(m, k)));
      },
    ),
    { numRuns: 200 },
  );
});

test('SP 800-38B bit-length CMAC: whole-octet lengths equal RFC 4493, bits beyond LENGTH are ignored, bad input throws', () => {
  const key = fromHex(f.key);
  const m = fromHex(f.vectors[3]!.M);
  assert.equal(toHex(aesCmacBits(key, m, 512)), f.vectors[3]!.mac);
  const a = Uint8Array.of(0xff, 0xc0);
  const b = Uint8Array.of(0xff, 0xff);
  assert.deepEqual(aesCmacBits(key, a, 10), aesCmacBits(key, b, 10));
  assert.notDeepEqual(aesCmacBits(key, a, 10), aesCmacBits(key, a, 11));
  assert.throws(
    () => aesCmacBits(key, a, 17),
    (e: CryptoInputError) => e.code === 'length_beyond_buffer',
  );
  assert.throws(() => new AesCmac(new Uint8Array(15)), CryptoInputError);
});
