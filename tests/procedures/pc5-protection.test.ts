import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { CryptoInputError } from '../../crypto-core/errors.js';
import { nea } from '../../crypto-core/nea.js';
import {
  Pc5RxContext,
  Pc5TxContext,
  type ProtectionKeys,
  type ProtectionPolicy,
  peekKsi,
} from '../../procedures/pc5/protection.js';

const ALGS = [1, 2, 3] as const;
const FULL: ProtectionPolicy = { ciphering: true, integrity: true };

function keys(alg: 0 | 1 | 2 | 3, over: Partial<ProtectionKeys> = {}): ProtectionKeys {
  return {
    ksi: 3,
    cipherAlg: alg,
    integrityAlg: alg,
    pek: randomBytes(16),
    pik: randomBytes(16),
    bearer: 1,
    direction: 0,
    ...over,
  };
}

function pair(k: ProtectionKeys, policy = FULL, window = 64) {
  return { tx: new Pc5TxContext(k, policy), rx: new Pc5RxContext(k, policy, window) };
}

test('round trip under 128-NEA/NIA 1, 2 and 3, every policy, random payloads', () => {
  const policies: ProtectionPolicy[] = [
    FULL,
    { ciphering: false, integrity: true },
    { ciphering: true, integrity: false },
  ];
  for (const alg of ALGS) {
    for (const policy of policies) {
      const { tx, rx } = pair(keys(alg), policy);
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 1500 }), (p) => {
          const pdu = tx.protect(p);
          if (policy.ciphering && p.length >= 16) assert.notDeepEqual(pdu.subarray(5, 5 + p.length), p);
          const r = rx.unprotect(pdu);
          assert.ok(r.ok, `alg ${alg} ${JSON.stringify(policy)}: ${!r.ok && r.reason}`);
          assert.deepEqual(r.payload, p);
        }),
        { numRuns: 60 },
      );
    }
  }
});

test('the ciphertext is 128-NEA of the payload with COUNT, BEARER, DIRECTION from the header', () => {
  const k = keys(2);
  const tx = new Pc5TxContext(k, { ciphering: true, integrity: false });
  tx.protect(new Uint8Array(10));
  const p = randomBytes(100);
  const pdu = tx.protect(p);
  assert.equal(new DataView(pdu.buffer).getUint32(1), 1);
  assert.deepEqual(pdu.subarray(5), nea(2, k.pek!, 1, k.bearer, k.direction, p, p.length * 8));
  assert.equal(peekKsi(pdu), 3);
});

test('any single-bit change of a protected PDU is rejected (mac, policy, version or KSI), never accepted', () => {
  for (const alg of ALGS) {
    const k = keys(alg);
    const tx = new Pc5TxContext(k, FULL);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat(), (p, bitSeed) => {
        const rx = new Pc5RxContext(k, FULL, 64);
        const pdu = tx.protect(p);
        const bit = bitSeed % (pdu.length * 8);
        pdu[bit >> 3]! ^= 0x80 >> (bit & 7);
        const r = rx.unprotect(pdu);
        assert.equal(r.ok, false);
      }),
      { numRuns: 200 },
    );
  }
});

test('replays are rejected; reordering within the window is accepted once; older than the window is too_old', () => {
  const { tx, rx } = pair(keys(2), FULL, 64);
  const pdus = Array.from({ length: 200 }, (_, i) => tx.protect(Uint8Array.of(i)));
  assert.ok(rx.unprotect(pdus[10]!).ok);
  assert.deepEqual(rx.unprotect(pdus[10]!), { ok: false, reason: 'replay', count: 10 });
  assert.ok(rx.unprotect(pdus[5]!).ok, 'older but inside the window');
  assert.equal(rx.unprotect(pdus[5]!).ok, false);
  assert.ok(rx.unprotect(pdus[150]!).ok);
  assert.deepEqual(rx.unprotect(pdus[20]!), { ok: false, reason: 'too_old', count: 20 });
  assert.ok(rx.unprotect(pdus[100]!).ok, 'within 64 of 150');
  assert.ok(rx.unprotect(pdus[149]!).ok);
  assert.deepEqual(rx.unprotect(pdus[150]!), { ok: false, reason: 'replay', count: 150 });
  assert.equal(rx.highestCount, 150);
});

test('a forged PDU does not move the replay window (integrity is checked first)', () => {
  const k = keys(1);
  const { tx, rx } = pair(k, FULL, 64);
  const good = tx.protect(Uint8Array.of(1));
  const forged = new Pc5TxContext({ ...k, pik: randomBytes(16) }, FULL);
  for (let i = 0; i < 1000; i++) forged.protect(new Uint8Array(1));
  assert.equal(rx.unprotect(forged.protect(new Uint8Array(1))).ok, false);
  assert.ok(rx.unprotect(good).ok, 'the forged high COUNT did not push COUNT 0 out of the window');
});

test('stripping protection (bidding down) is rejected: policy', () => {
  const k = keys(3);
  const weak = new Pc5TxContext(k, { ciphering: false, integrity: false });
  const rx = new Pc5RxContext(k, FULL, 64);
  const r = rx.unprotect(weak.protect(new Uint8Array(32)));
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.reason, 'policy');
});

test('separate contexts: a PDU under another key set, direction or bearer is not accepted', () => {
  const k = keys(2);
  const tx = new Pc5TxContext(k, FULL);
  const pdu = tx.protect(randomBytes(50));
  assert.equal(
    (new Pc5RxContext({ ...k, ksi: 4 }, FULL).unprotect(pdu) as { reason: string }).reason,
    'wrong_ksi',
  );
  assert.equal(
    (new Pc5RxContext({ ...k, direction: 1 }, FULL).unprotect(pdu) as { reason: string }).reason,
    'mac',
  );
  assert.equal(
    (new Pc5RxContext({ ...k, bearer: 2 }, FULL).unprotect(pdu) as { reason: string }).reason,
    'mac',
  );
  assert.equal(
    (new Pc5RxContext({ ...k, pik: randomBytes(16) }, FULL).unprotect(pdu) as { reason: string }).reason,
    'mac',
  );
});

test('COUNT never wraps: needsRekey before the end, count_exhausted at the end', () => {
  const k = keys(2);
  const tx = new Pc5TxContext(k, FULL, 3);
  tx.protect(new Uint8Array(1));
  tx.protect(new Uint8Array(1));
  assert.equal(tx.needsRekey, false);
  tx.protect(new Uint8Array(1));
  assert.equal(tx.needsRekey, true);
  // Jump to the last COUNT to show the hard stop without 2^32 operations.
  (tx as unknown as { next: number }).next = 0xffffffff;
  tx.protect(new Uint8Array(1));
  assert.throws(
    () => tx.protect(new Uint8Array(1)),
    (e: unknown) => e instanceof CryptoInputError && e.code === 'count_exhausted',
  );
});

test('bad keys and parameters throw CryptoInputError', () => {
  assert.throws(() => new Pc5TxContext(keys(2, { pek: new Uint8Array(8) }), FULL), CryptoInputError);
  assert.throws(() => new Pc5TxContext(keys(2, { bearer: 32 }), FULL), /BEARER/);
  assert.throws(() => new Pc5TxContext(keys(2, { ksi: 16 }), FULL), /KSI/);
  assert.throws(() => new Pc5RxContext(keys(2), FULL, 33), /window/);
  const rx = new Pc5RxContext(keys(2), FULL, 64);
  assert.deepEqual(rx.unprotect(new Uint8Array(3)), { ok: false, reason: 'too_short' });
});

test('protectWithHeadroom: same PDU as protect after the headroom, every algorithm and policy', () => {
  for (const alg of ALGS) {
    for (const policy of [
      FULL,
      { ciphering: true, integrity: false },
      { ciphering: false, integrity: true },
    ]) {
      const k = keys(alg);
      const a = new Pc5TxContext(k, policy);
      const b = new Pc5TxContext(k, policy);
      const rx = new Pc5RxContext(k, policy, 64);
      for (const headroom of [0, 1, 2, 3, 7]) {
        const payload = new Uint8Array(randomBytes(1 + headroom * 100));
        const p1 = a.protect(payload);
        const p2 = b.protectWithHeadroom(payload, headroom);
        assert.equal(p2.length, headroom + p1.length);
        assert.deepEqual(p2.subarray(headroom), p1);
        const r = rx.unprotect(p2.subarray(headroom));
        assert.ok(r.ok);
        assert.deepEqual(r.payload, payload);
      }
    }
  }
});

test('unprotect in place: same payload as a copying unprotect, a view on the PDU; replays still caught', () => {
  for (const alg of ALGS) {
    for (const policy of [
      FULL,
      { ciphering: true, integrity: false },
      { ciphering: false, integrity: true },
    ]) {
      const k = keys(alg);
      const tx = new Pc5TxContext(k, policy);
      const rx1 = new Pc5RxContext(k, policy, 64);
      const rx2 = new Pc5RxContext(k, policy, 64);
      for (let i = 0; i < 40; i++) {
        const payload = new Uint8Array(randomBytes(1 + i * 37));
        const pdu = tx.protect(payload);
        const copy = pdu.slice();
        const a = rx1.unprotect(copy);
        const b = rx2.unprotect(pdu, true);
        assert.ok(a.ok && b.ok);
        assert.deepEqual(b.payload, payload);
        assert.deepEqual(a.payload, payload);
        if (alg === 2 || !policy.ciphering) assert.equal(b.payload.buffer, pdu.buffer);
        assert.equal(rx2.unprotect(pdu, true).ok, false);
      }
    }
  }
});
