import assert from 'node:assert/strict';
import { createHmac, hkdfSync } from 'node:crypto';
import { test } from 'node:test';
import { fromHex, toHex } from '../../crypto-core/bytes.js';
import { CryptoInputError } from '../../crypto-core/errors.js';
import { kdf, kdfInputString } from '../../crypto-core/kdf-ts33220.js';
import {
  ALG_DISTINGUISHER,
  deriveAlgorithmKey,
  deriveGsk,
  deriveKdFromMsk,
  deriveKdSess,
  derivePek,
  derivePik,
  derivePtk,
  kdFromMsk,
  PROSE_FC,
  PROSE_FC_SOURCE,
} from '../../crypto-core/prose-kdf.js';
import { loadVectors } from '../helpers/paths.js';

interface KdfFile {
  vectors: { case: number; key_ck_concat_ik: string; S: string; output: string }[];
}
interface ProseConstants {
  confirmed: { spec: string; FC: string }[];
}

const kdfFile = loadVectors<KdfFile>('kdf_ts33220.json');

test(`TS 33.220 Annex B KDF (FC 0x20 worked cases from RFC 5448 App. C): ${kdfFile.vectors.length} of 4 cases`, () => {
  assert.equal(kdfFile.vectors.length, 4);
  for (const v of kdfFile.vectors) {
    const s = fromHex(v.S);
    // Rebuild S from its parts: FC || P0 || L0 || P1 || L1 with P0 the network name, P1 = SQN xor AK.
    const p0 = s.subarray(1, s.length - 10);
    const p1 = s.subarray(s.length - 8, s.length - 2);
    assert.equal(toHex(kdfInputString(0x20, p0, p1)), v.S, `S of case ${v.case}`);
    assert.equal(toHex(kdf(fromHex(v.key_ck_concat_ik), 0x20, p0, p1)), v.output, `output of case ${v.case}`);
  }
});

test('TS 33.220 Annex B KDF equals HMAC-SHA-256(key, S) and rejects bad FC / parameters', () => {
  const key = new Uint8Array(32).fill(7);
  const s = kdfInputString(0x4a, Uint8Array.of(1, 2, 3), new Uint8Array(0));
  assert.equal(toHex(s), '4a0102030003' + '0000');
  assert.deepEqual(
    kdf(key, 0x4a, Uint8Array.of(1, 2, 3), new Uint8Array(0)),
    new Uint8Array(createHmac('sha256', key).update(s).digest()),
  );
  assert.throws(() => kdf(key, 256), CryptoInputError);
  assert.throws(() => kdf(new Uint8Array(0), 1), CryptoInputError);
  assert.throws(
    () => kdf(key, 1, new Uint8Array(65536)),
    (e: CryptoInputError) => e.code === 'param_length',
  );
});

test('TS 33.303 ProSe FC values: PTK 0x4A matches prose_kdf_constants.json; private values are in 0xF0..0xFF and distinct', () => {
  const c = loadVectors<ProseConstants>('prose_kdf_constants.json');
  const ptk = c.confirmed.find((x) => x.spec.includes('A.3'));
  assert.ok(ptk);
  assert.equal(PROSE_FC.PTK, Number.parseInt(ptk.FC, 16));
  const values = Object.values(PROSE_FC);
  assert.equal(new Set(values).size, values.length);
  for (const [name, fc] of Object.entries(PROSE_FC)) {
    const src = PROSE_FC_SOURCE[name as keyof typeof PROSE_FC];
    if (src === 'prosec-private') assert.ok(fc >= 0xf0, `${name} in the private range`);
  }
});

test('ProSe derivations: KD-sess, PEK/PIK (LSB 128 of the 256-bit output), PTK, KD from MSK, GSK follow their S layout', () => {
  const kd = fromHex(`${'00'.repeat(31)}01`);
  const n1 = new Uint8Array(16).fill(0x11);
  const n2 = new Uint8Array(16).fill(0x22);
  const kdSess = deriveKdSess(kd, n1, n2);
  assert.deepEqual(kdSess, kdf(kd, 0xf0, n1, n2));
  assert.notDeepEqual(kdSess, deriveKdSess(kd, n2, n1));
  const full = kdf(kdSess, 0xf1, Uint8Array.of(0), Uint8Array.of(2));
  assert.deepEqual(deriveAlgorithmKey(kdSess, ALG_DISTINGUISHER.ENCRYPTION, 2), full.subarray(16));
  assert.deepEqual(derivePek(kdSess, 2), full.subarray(16));
  assert.notDeepEqual(derivePik(kdSess, 2), derivePek(kdSess, 2));
  const pgk = new Uint8Array(32).fill(0xab);
  const ptk = derivePtk(pgk, Uint8Array.of(1, 2, 3), 0x0102, Uint8Array.of(4, 5, 6));
  assert.deepEqual(ptk, kdf(pgk, 0x4a, Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2), Uint8Array.of(4, 5, 6)));
  const msk = new Uint8Array(64).map((_, i) => i);
  assert.deepEqual(kdFromMsk(msk), msk.subarray(0, 32));
  assert.deepEqual(deriveKdFromMsk(msk, Uint8Array.of(0, 0, 7)), kdf(msk, 0xf2, Uint8Array.of(0, 0, 7)));
  assert.equal(deriveGsk(pgk, Uint8Array.of(0, 0, 0, 1), Uint8Array.of(9)).length, 32);
  assert.throws(() => deriveKdSess(kd.subarray(1), n1, n2), CryptoInputError);
  assert.throws(
    () => derivePtk(pgk, Uint8Array.of(1, 2, 3), 0x10000, Uint8Array.of(4, 5, 6)),
    CryptoInputError,
  );
});

interface HkdfFile {
  vectors: { case: number; hash: string; IKM: string; salt: string; info: string; L: number; OKM: string }[];
}

test('RFC 5869 HKDF via node:crypto hkdfSync (cross-check of the platform primitive): 4 of 4 cases', () => {
  const f = loadVectors<HkdfFile>('hkdf_rfc5869.json');
  assert.equal(f.vectors.length, 4);
  for (const v of f.vectors) {
    const hash = v.hash === 'SHA-1' ? 'sha1' : 'sha256';
    const okm = hkdfSync(hash, fromHex(v.IKM), fromHex(v.salt), fromHex(v.info), v.L);
    assert.equal(Buffer.from(okm).toString('hex'), v.OKM, `case ${v.case}`);
  }
});
