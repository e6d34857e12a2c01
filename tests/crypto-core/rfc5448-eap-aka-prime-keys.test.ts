import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { fromHex, toHex } from '../../crypto-core/bytes.js';
import {
  computeAtMac,
  deriveAkaPrimeKeys,
  deriveCkIkPrime,
  deriveFastReauthKeys,
  prfPrime,
  verifyAtMac,
} from '../../crypto-core/eap-aka-prime-keys.js';
import { CryptoInputError } from '../../crypto-core/errors.js';
import { loadVectors } from '../helpers/paths.js';

interface EapVector {
  case: number;
  identity: string;
  network_name: string;
  autn: string;
  ik: string;
  ck: string;
  ck_prime: string;
  ik_prime: string;
  k_encr: string;
  k_aut: string;
  k_re: string;
  msk: string;
  emsk: string;
}

const f = loadVectors<{ vectors: EapVector[] }>('eap_aka_prime_rfc5448.json');

test(`RFC 5448 App. C / RFC 9048 App. D EAP-AKA' CK', IK', K_encr, K_aut, K_re, MSK, EMSK: ${f.vectors.length} of ${f.vectors.length} cases`, () => {
  assert.ok(f.vectors.length >= 2);
  for (const v of f.vectors) {
    const sqnXorAk = fromHex(v.autn).subarray(0, 6);
    const { ckPrime, ikPrime } = deriveCkIkPrime(fromHex(v.ck), fromHex(v.ik), v.network_name, sqnXorAk);
    // The RFC case: CK' is the first half of the KDF output (not swapped).
    assert.equal(toHex(ckPrime), v.ck_prime, `CK' case ${v.case}`);
    assert.equal(toHex(ikPrime), v.ik_prime, `IK' case ${v.case}`);
    const k = deriveAkaPrimeKeys(ikPrime, ckPrime, v.identity);
    assert.equal(toHex(k.kEncr), v.k_encr, `K_encr case ${v.case}`);
    assert.equal(toHex(k.kAut), v.k_aut, `K_aut case ${v.case}`);
    assert.equal(toHex(k.kRe), v.k_re, `K_re case ${v.case}`);
    assert.equal(toHex(k.msk), v.msk, `MSK case ${v.case}`);
    assert.equal(toHex(k.emsk), v.emsk, `EMSK case ${v.case}`);
  }
});

interface KdfFile {
  vectors: { case: number; key_ck_concat_ik: string; S: string; output: string }[];
}

test("RFC 5448 App. C CK'/IK' for all 4 RFC cases (cases 3-4 via kdf_ts33220.json): 4 of 4, CK' first", () => {
  const k = loadVectors<KdfFile>('kdf_ts33220.json');
  assert.equal(k.vectors.length, 4);
  for (const v of k.vectors) {
    const key = fromHex(v.key_ck_concat_ik);
    const s = fromHex(v.S);
    const name = new TextDecoder().decode(s.subarray(1, s.length - 10));
    const sqnXorAk = s.subarray(s.length - 8, s.length - 2);
    const r = deriveCkIkPrime(key.subarray(0, 16), key.subarray(16), name, sqnXorAk);
    assert.equal(toHex(r.ckPrime) + toHex(r.ikPrime), v.output, `case ${v.case} (${name})`);
  }
});

test("RFC 5448 3.4 PRF' chaining T1 = HMAC(K, S|0x01), T2 = HMAC(K, T1|S|0x02); fast re-auth MK layout of 3.3", () => {
  const key = new Uint8Array(32).fill(9);
  const s = Uint8Array.of(1, 2, 3);
  const t1 = createHmac('sha256', key).update(s).update(Uint8Array.of(1)).digest();
  const t2 = createHmac('sha256', key).update(t1).update(s).update(Uint8Array.of(2)).digest();
  assert.equal(toHex(prfPrime(key, s, 40)), t1.toString('hex') + t2.toString('hex').slice(0, 16));
  const kRe = new Uint8Array(32).fill(5);
  const nonce = new Uint8Array(16).fill(6);
  const r = deriveFastReauthKeys(kRe, 'id', 0x0102, nonce);
  const sExp = Buffer.concat([
    Buffer.from("EAP-AKA' re-auth"),
    Buffer.from('id'),
    Buffer.from([1, 2]),
    nonce,
  ]);
  assert.deepEqual(r.mk, prfPrime(kRe, sExp, 128));
  assert.deepEqual(r.msk, r.mk.subarray(0, 64));
  assert.deepEqual(r.emsk, r.mk.subarray(64));
  assert.throws(() => deriveFastReauthKeys(kRe, 'id', 70000, nonce), CryptoInputError);
});

test('RFC 5448 3.4.1 AT_MAC: HMAC-SHA-256-128 over the packet with the MAC value zeroed, verified in constant time', () => {
  const kAut = fromHex(f.vectors[0]!.k_aut);
  const packet = new Uint8Array(40).map((_, i) => i);
  const mac = computeAtMac(kAut, packet, 20);
  const zeroed = packet.slice();
  zeroed.fill(0, 20, 36);
  assert.equal(
    toHex(mac),
    createHmac('sha256', kAut).update(zeroed).digest().subarray(0, 16).toString('hex'),
  );
  const withMac = packet.slice();
  withMac.set(mac, 20);
  assert.ok(verifyAtMac(kAut, withMac, 20));
  withMac[0]! ^= 1;
  assert.ok(!verifyAtMac(kAut, withMac, 20));
  assert.throws(() => computeAtMac(kAut, packet, 30), CryptoInputError);
});
