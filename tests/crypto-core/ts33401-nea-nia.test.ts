import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromHex, toHex } from '../../crypto-core/bytes.js';
import { CryptoInputError } from '../../crypto-core/errors.js';
import { type NeaAlgorithm, nea } from '../../crypto-core/nea.js';
import { type NiaAlgorithm, nia, niaVerify } from '../../crypto-core/nia.js';
import { SNOW3G_SBOXES } from '../../crypto-core/snow3g.js';
import { ZUC_SBOXES } from '../../crypto-core/zuc.js';
import { loadVectors } from '../helpers/paths.js';

interface Common {
  name: string;
  key: string;
  count: string;
  bearer: number;
  direction: number;
  length_bits: number;
}
type EeaVector = Common & { plaintext: string; ciphertext: string };
type EiaVector = Common & { message: string; mac: string };

/** The first `bits` bits of `bytes`, trailing bits of the last octet zeroed (our output convention). */
function firstBits(bytes: Uint8Array, bits: number): string {
  const out = bytes.slice(0, (bits + 7) >>> 3);
  if (bits & 7) out[out.length - 1]! &= 0xff << (8 - (bits & 7));
  return toHex(out);
}

const neaNames: Record<number, string> = { 1: 'SNOW 3G', 2: 'AES-CTR', 3: 'ZUC' };
const niaNames: Record<number, string> = { 1: 'SNOW 3G', 2: 'AES-CMAC', 3: 'ZUC' };
type VectorFile<V> = { spec: string; vectors: V[] };
const eea = [1, 2, 3].map((a) => ({ a, f: loadVectors<VectorFile<EeaVector>>(`eea${a}_128.json`) }));
const eia = [1, 2, 3].map((a) => ({ a, f: loadVectors<VectorFile<EiaVector>>(`eia${a}_128.json`) }));
/** The clause named first in the file's `spec` field, e.g. "3GPP TS 33.401 Annex C.3". */
const clause = (spec: string) => spec.split(/ \/ |;/)[0]!.trim();

for (const { a, f } of eea) {
  const n = f.vectors.length;
  test(`${clause(f.spec)}: 128-NEA${a} (${neaNames[a]}) encrypt and decrypt: ${n} of ${n} official test sets`, () => {
    assert.ok(n >= 3);
    for (const v of f.vectors) {
      const key = fromHex(v.key);
      const count = Number.parseInt(v.count, 16);
      const ct = nea(
        a as NeaAlgorithm,
        key,
        count,
        v.bearer,
        v.direction,
        fromHex(v.plaintext),
        v.length_bits,
      );
      assert.equal(toHex(ct), firstBits(fromHex(v.ciphertext), v.length_bits), `${v.name} encrypt`);
      const pt = nea(
        a as NeaAlgorithm,
        key,
        count,
        v.bearer,
        v.direction,
        fromHex(v.ciphertext),
        v.length_bits,
      );
      assert.equal(toHex(pt), firstBits(fromHex(v.plaintext), v.length_bits), `${v.name} decrypt`);
    }
  });
}

for (const { a, f } of eia) {
  const n = f.vectors.length;
  test(`${clause(f.spec)}: 128-NIA${a} (${niaNames[a]}) MAC-I and niaVerify: ${n} of ${n} official test sets`, () => {
    assert.ok(n >= 3);
    for (const v of f.vectors) {
      const key = fromHex(v.key);
      const count = Number.parseInt(v.count, 16);
      const msg = fromHex(v.message);
      const mac = nia(a as NiaAlgorithm, key, count, v.bearer, v.direction, msg, v.length_bits);
      assert.equal(toHex(mac), v.mac, v.name);
      assert.ok(
        niaVerify(a as NiaAlgorithm, key, count, v.bearer, v.direction, msg, v.length_bits, fromHex(v.mac)),
      );
      const wrong = fromHex(v.mac);
      wrong[3]! ^= 1;
      assert.ok(!niaVerify(a as NiaAlgorithm, key, count, v.bearer, v.direction, msg, v.length_bits, wrong));
    }
  });
}

test('SNOW 3G and ZUC S-boxes: SR is the Rijndael S-box, SQ starts 25 24 73 67, ZUC spec example 8 S(0x12345678) parts', () => {
  assert.equal(toHex(SNOW3G_SBOXES.SR.subarray(0, 4)), '637c777b');
  assert.equal(toHex(SNOW3G_SBOXES.SQ.subarray(0, 4)), '25247367');
  assert.equal(ZUC_SBOXES.S0[0x12], 0xf9);
  assert.equal(ZUC_SBOXES.S1[0x34], 0xc0);
  assert.equal(ZUC_SBOXES.S0[0x56], 0x5a);
  assert.equal(ZUC_SBOXES.S1[0x78], 0x4e);
  for (const s of [SNOW3G_SBOXES.SR, SNOW3G_SBOXES.SQ, ZUC_SBOXES.S0, ZUC_SBOXES.S1])
    assert.equal(new Set(s).size, 256);
});

test('128-NEA/NIA input validation: key length, LENGTH beyond buffer, bearer > 31, direction, COUNT range, algorithm', () => {
  const key = new Uint8Array(16);
  const data = new Uint8Array(10);
  const code = (c: string) => (e: unknown) => e instanceof CryptoInputError && e.code === c;
  for (const a of [0, 1, 2, 3] as const) {
    for (const fn of [nea, nia]) {
      assert.throws(() => fn(a, new Uint8Array(15), 0, 0, 0, data, 80), code('key_length'));
      assert.throws(() => fn(a, key, 0, 0, 0, data, 81), code('length_beyond_buffer'));
      assert.throws(() => fn(a, key, 0, 32, 0, data, 8), code('bearer_range'));
      assert.throws(() => fn(a, key, 0, 0, 2, data, 8), code('direction'));
      assert.throws(() => fn(a, key, 2 ** 32, 0, 0, data, 8), code('count_range'));
      assert.throws(() => fn(a, key, -1, 0, 0, data, 8), code('count_range'));
      assert.throws(() => fn(a, key, 0, 0, 0, data, 1.5), code('length_range'));
    }
  }
  assert.throws(() => nea(4 as NeaAlgorithm, key, 0, 0, 0, data, 8), code('algorithm'));
  assert.throws(() => niaVerify(1, key, 0, 0, 0, data, 8, new Uint8Array(3)), CryptoInputError);
  // Zero-length messages are valid; NEA0/NIA0 are the null algorithms.
  assert.equal(nea(3, key, 0xffffffff, 31, 1, data, 0).length, 0);
  assert.equal(nia(1, key, 0xffffffff, 31, 1, data, 0).length, 4);
  assert.deepEqual(nea(0, key, 0, 0, 0, Uint8Array.of(0xff, 0xff), 12), Uint8Array.of(0xff, 0xf0));
  assert.deepEqual(nia(0, key, 0, 0, 0, data, 8), new Uint8Array(4));
});
