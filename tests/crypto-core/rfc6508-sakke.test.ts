import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { fromHex, toHex } from '../../crypto-core/bytes.js';
import { CryptoInputError } from '../../crypto-core/errors.js';
import {
  hashToIntegerRange,
  SAKKE_CURVE,
  SAKKE_ENCAPSULATED_BYTES,
  SAKKE_PARAMETER_SET_1,
  sakkeDecapsulate,
  sakkeEncapsulate,
  sakkeGenerateMasterKey,
  sakkeIssueRsk,
  sakkePairing,
  sakkePublicKey,
  sakkeValidateRsk,
} from '../../crypto-core/rfc6508-sakke.js';
import { loadVectors } from '../helpers/paths.js';

interface SakkeVectors {
  parameter_set_1: Record<string, string>;
  vectors: Record<string, string>[];
  hash_to_integer_range_example: { M: string; v_mod_q: string };
}

const V = loadVectors<SakkeVectors>('sakke_rfc6508.json');
const ps = V.parameter_set_1;
const v = V.vectors[0]!;
const point = (x: string, y: string) => fromHex(`04${x}${y}`);
const Z_S = point(v.Zx!, v.Zy!);
const RSK = point(v.Kbx!, v.Kby!);
const b = fromHex(v.b!);
const encapsulated = fromHex(`04${v.Rbx}${v.Rby}${v.H}`);

test('RFC 6509 parameter set 1 constants equal the vector file (p, q, P, g)', () => {
  const P = SAKKE_PARAMETER_SET_1;
  assert.equal(P.p, BigInt(`0x${ps.p}`));
  assert.equal(P.q, BigInt(`0x${ps.q}`));
  assert.equal(P.P.x, BigInt(`0x${ps.Px}`));
  assert.equal(P.P.y, BigInt(`0x${ps.Py}`));
  assert.equal(P.g, BigInt(`0x${ps.g}`));
});

test('HashToIntegerRange reproduces the RFC 6508 Appendix A value r = v mod q', () => {
  const r = hashToIntegerRange(fromHex(V.hash_to_integer_range_example.M), SAKKE_PARAMETER_SET_1.q);
  assert.equal(r, BigInt(`0x${V.hash_to_integer_range_example.v_mod_q}`));
  assert.equal(r, BigInt(`0x${v.r}`));
});

test('the pairing <P,P> equals g of parameter set 1 (RFC 6508 3.2)', () => {
  const P = point(ps.Px!, ps.Py!);
  assert.equal(sakkePairing(P, P), BigInt(`0x${ps.g}`));
});

test('Z_S = [z]P and the RSK K_(b,S) reproduce RFC 6508 Appendix A', () => {
  const z = fromHex(v.z!);
  assert.equal(toHex(sakkePublicKey(z)), toHex(Z_S));
  assert.equal(toHex(sakkeIssueRsk(z, b)), toHex(RSK));
});

test('RSK validation accepts the Appendix A RSK and rejects a wrong one', () => {
  assert.equal(sakkeValidateRsk(b, RSK, Z_S), true);
  const other = sakkeIssueRsk(fromHex(v.z!), fromHex('323031312d30320074656c3a2b34343737303039303031323400'));
  assert.equal(sakkeValidateRsk(b, other, Z_S), false);
});

test('encapsulation reproduces R_(b,S) || H of RFC 6508 Appendix A bit for bit', () => {
  const out = sakkeEncapsulate(fromHex(v.SSV!), b, Z_S);
  assert.equal(out.length, SAKKE_ENCAPSULATED_BYTES);
  assert.equal(toHex(out), toHex(encapsulated));
});

test('decapsulation recovers the Appendix A SSV', () => {
  assert.equal(toHex(sakkeDecapsulate(encapsulated, b, RSK, Z_S)), v.SSV);
});

test('decapsulation detects a tampered H, a tampered R, a wrong identity and a wrong RSK', () => {
  const badH = encapsulated.slice();
  badH[badH.length - 1]! ^= 1;
  assert.throws(() => sakkeDecapsulate(badH, b, RSK, Z_S), { code: 'sakke_decapsulation' });
  const badR = encapsulated.slice();
  const P2 = SAKKE_CURVE.encodePoint(
    SAKKE_CURVE.toAffine(SAKKE_CURVE.dbl({ x: BigInt(`0x${v.Rbx}`), y: BigInt(`0x${v.Rby}`), z: 1n }))!,
  );
  badR.set(P2, 0);
  assert.throws(() => sakkeDecapsulate(badR, b, RSK, Z_S), { code: 'sakke_decapsulation' });
  const otherId = fromHex('323031312d30320074656c3a2b34343737303039303031323400');
  assert.throws(() => sakkeDecapsulate(encapsulated, otherId, RSK, Z_S), { code: 'sakke_decapsulation' });
  const otherRsk = sakkeIssueRsk(fromHex(v.z!), otherId);
  assert.throws(() => sakkeDecapsulate(encapsulated, b, otherRsk, Z_S), { code: 'sakke_decapsulation' });
});

test('invalid inputs raise CryptoInputError: lengths, point off the curve, R at infinity', () => {
  assert.throws(() => sakkeEncapsulate(new Uint8Array(15), b, Z_S), CryptoInputError);
  assert.throws(() => sakkeDecapsulate(encapsulated.subarray(1), b, RSK, Z_S), CryptoInputError);
  const off = encapsulated.slice();
  off[5]! ^= 1;
  assert.throws(() => sakkeDecapsulate(off, b, RSK, Z_S), { code: 'not_on_curve' });
  const inf = new Uint8Array(SAKKE_ENCAPSULATED_BYTES);
  inf[0] = 4;
  assert.throws(() => sakkeDecapsulate(inf, b, RSK, Z_S), { code: 'point_at_infinity' });
  const compressed = encapsulated.slice();
  compressed[0] = 2;
  assert.throws(() => sakkeDecapsulate(compressed, b, RSK, Z_S), { code: 'point_format' });
  assert.throws(() => sakkeEncapsulate(fromHex(v.SSV!), new Uint8Array([1]), Z_S), {
    code: 'identifier_range',
  });
});

test('round trip for a fresh KMS, random identities and random SSVs', () => {
  const { z, Z_S: zs } = sakkeGenerateMasterKey();
  for (let i = 0; i < 3; i++) {
    const id = new TextEncoder().encode(`2026-11\0tel:+4477009${String(i).padStart(5, '0')}\0`);
    const rsk = sakkeIssueRsk(z, id);
    assert.equal(sakkeValidateRsk(id, rsk, zs), true);
    const ssv = randomBytes(16);
    const ed = sakkeEncapsulate(ssv, id, zs);
    assert.deepEqual(sakkeDecapsulate(ed, id, rsk, zs), new Uint8Array(ssv));
  }
});
