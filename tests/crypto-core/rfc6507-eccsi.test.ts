import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { fromHex, toHex } from '../../crypto-core/bytes.js';
import { CryptoInputError } from '../../crypto-core/errors.js';
import {
  ECCSI_SIGNATURE_BYTES,
  eccsiGenerateKmsKeys,
  eccsiHS,
  eccsiIssueSsk,
  eccsiKpak,
  eccsiSign,
  eccsiValidateSsk,
  eccsiVerify,
} from '../../crypto-core/rfc6507-eccsi.js';
import { loadVectors } from '../helpers/paths.js';

const V = loadVectors<{ vectors: Record<string, string>[] }>('eccsi_rfc6507.json').vectors[0]!;
const h = (k: string) => fromHex(V[k]!);
const ID = h('ID');
const M = h('M');

test('KPAK = [KSAK]G reproduces RFC 6507 Appendix A', () => {
  assert.equal(toHex(eccsiKpak(h('KSAK'))), V.KPAK);
});

test('SSK/PVT issuance with the Appendix A v reproduces PVT, HS and SSK', () => {
  const { SSK, PVT, HS } = eccsiIssueSsk(h('KSAK'), h('KPAK'), ID, h('v'));
  assert.equal(toHex(PVT), V.PVT);
  assert.equal(toHex(HS), V.HS);
  assert.equal(toHex(SSK), V.SSK);
  assert.equal(toHex(eccsiHS(h('KPAK'), ID, PVT)), V.HS);
});

test('SSK validation (RFC 6507 5.1.2) accepts the Appendix A SSK and rejects wrong keys', () => {
  assert.equal(eccsiValidateSsk(ID, h('SSK'), h('PVT'), h('KPAK')), true);
  const bad = h('SSK');
  bad[31]! ^= 1;
  assert.equal(eccsiValidateSsk(ID, bad, h('PVT'), h('KPAK')), false);
  assert.equal(
    eccsiValidateSsk(new TextEncoder().encode('2011-02\0tel:+447700900124\0'), h('SSK'), h('PVT'), h('KPAK')),
    false,
  );
  assert.equal(eccsiValidateSsk(ID, h('SSK'), h('PVT'), eccsiGenerateKmsKeys().KPAK), false);
});

test('signing with the Appendix A j reproduces the signature r || s || PVT bit for bit', () => {
  const sig = eccsiSign(M, ID, h('SSK'), h('PVT'), h('KPAK'), h('j'));
  assert.equal(sig.length, ECCSI_SIGNATURE_BYTES);
  assert.equal(toHex(sig), V.Sig);
});

test('verification accepts the Appendix A signature and rejects a changed message, identity, r, s or KPAK', () => {
  const sig = h('Sig');
  assert.equal(eccsiVerify(M, sig, ID, h('KPAK')), true);
  assert.equal(eccsiVerify(new TextEncoder().encode('messagf\0'), sig, ID, h('KPAK')), false);
  assert.equal(
    eccsiVerify(M, sig, new TextEncoder().encode('2011-02\0tel:+447700900124\0'), h('KPAK')),
    false,
  );
  for (const at of [0, 31, 32, 63]) {
    const bad = sig.slice();
    bad[at]! ^= 0x10;
    assert.equal(eccsiVerify(M, bad, ID, h('KPAK')), false, `byte ${at}`);
  }
  assert.equal(eccsiVerify(M, sig, ID, eccsiGenerateKmsKeys().KPAK), false);
});

test('invalid inputs raise CryptoInputError: signature length, PVT off the curve, zero scalars', () => {
  const sig = h('Sig');
  assert.throws(() => eccsiVerify(M, sig.subarray(1), ID, h('KPAK')), CryptoInputError);
  const off = sig.slice();
  off[100]! ^= 1;
  assert.throws(() => eccsiVerify(M, off, ID, h('KPAK')), { code: 'not_on_curve' });
  assert.throws(() => eccsiKpak(new Uint8Array(32)), { code: 'range' });
  assert.throws(() => eccsiSign(M, ID, h('SSK'), h('PVT').subarray(1), h('KPAK')), CryptoInputError);
});

test('round trip: fresh KMS, random identities and messages sign and verify; SSKs validate', () => {
  const { KSAK, KPAK } = eccsiGenerateKmsKeys();
  for (let i = 0; i < 5; i++) {
    const id = new TextEncoder().encode(`2026-11\0sip:ue${i}@prosec.test\0`);
    const { SSK, PVT } = eccsiIssueSsk(KSAK, KPAK, id);
    assert.equal(eccsiValidateSsk(id, SSK, PVT, KPAK), true);
    const msg = randomBytes(1 + i * 37);
    const sig = eccsiSign(msg, id, SSK, PVT, KPAK);
    assert.equal(eccsiVerify(msg, sig, id, KPAK), true);
    const other = msg.slice();
    other[0]! ^= 1;
    assert.equal(eccsiVerify(other, sig, id, KPAK), false);
  }
});

test('repeated verifications of one signer (cached PVT table path) give the same answers', () => {
  const { KSAK, KPAK } = eccsiGenerateKmsKeys();
  const id = new TextEncoder().encode('2026-11\0tel:+447700900999\0');
  const { SSK, PVT } = eccsiIssueSsk(KSAK, KPAK, id);
  for (let i = 0; i < 4; i++) {
    const msg = new TextEncoder().encode(`message ${i}`);
    const sig = eccsiSign(msg, id, SSK, PVT, KPAK);
    assert.equal(eccsiVerify(msg, sig, id, KPAK), true, `round ${i}`);
    const bad = sig.slice();
    bad[40]! ^= 4;
    assert.equal(eccsiVerify(msg, bad, id, KPAK), false, `round ${i} tampered`);
  }
});
