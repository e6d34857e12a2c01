import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromHex, toHex } from '../../crypto-core/bytes.js';
import { CryptoInputError } from '../../crypto-core/errors.js';
import { computeOpc, Milenage, milenage } from '../../crypto-core/milenage.js';
import { loadVectors } from '../helpers/paths.js';

interface MilenageFile {
  vectors: {
    test_set: number;
    k: string;
    rand: string;
    sqn: string;
    amf: string;
    op: string;
    opc: string;
    f1: string;
    f1star: string;
    f2: string;
    f3: string;
    f4: string;
    f5: string;
    f5star: string;
  }[];
}

const f = loadVectors<MilenageFile>('milenage_ts35208.json');

test(`TS 35.208 Milenage OPc and f1, f1*, f2, f3, f4, f5, f5*: ${f.vectors.length} of ${f.vectors.length} official sets`, () => {
  assert.ok(f.vectors.length >= 6);
  for (const v of f.vectors) {
    const k = fromHex(v.k);
    assert.equal(toHex(computeOpc(k, fromHex(v.op))), v.opc, `OPc set ${v.test_set}`);
    const fromOp = new Milenage(k, fromHex(v.op), true);
    const o = fromOp.generate(fromHex(v.rand), fromHex(v.sqn), fromHex(v.amf));
    const got = [o.macA, o.macS, o.res, o.ck, o.ik, o.ak, o.akStar].map(toHex);
    assert.deepEqual(got, [v.f1, v.f1star, v.f2, v.f3, v.f4, v.f5, v.f5star], `set ${v.test_set}`);
    const o2 = milenage(k, fromHex(v.opc), fromHex(v.rand), fromHex(v.sqn), fromHex(v.amf));
    assert.equal(toHex(o2.macA), v.f1);
    assert.equal(toHex(fromOp.f2345(fromHex(v.rand)).ck), v.f3);
  }
});

test('TS 35.206 Milenage rejects wrong lengths of K, OPc, RAND, SQN, AMF', () => {
  const z = (n: number) => new Uint8Array(n);
  assert.throws(() => new Milenage(z(15), z(16)), CryptoInputError);
  assert.throws(() => new Milenage(z(16), z(17)), CryptoInputError);
  const m = new Milenage(z(16), z(16));
  assert.throws(() => m.generate(z(15), z(6), z(2)), CryptoInputError);
  assert.throws(() => m.generate(z(16), z(5), z(2)), CryptoInputError);
  assert.throws(() => m.generate(z(16), z(6), z(3)), CryptoInputError);
});
