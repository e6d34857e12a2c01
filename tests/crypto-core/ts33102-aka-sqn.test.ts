import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildAuts,
  generateAuthVector,
  IND_COUNT,
  makeSqn,
  resyncFromAuts,
  SqnArray,
  SqnGenerator,
  splitSqn,
  verifyAutn,
} from '../../crypto-core/aka-sqn.js';
import { fromHex, toHex } from '../../crypto-core/bytes.js';
import { CryptoInputError } from '../../crypto-core/errors.js';
import { Milenage } from '../../crypto-core/milenage.js';
import { loadVectors } from '../helpers/paths.js';

interface EapFile {
  milenage_link: { K: string; OP: string; OPc: string; SQN: string; AMF: string; AK: string };
  vectors: { rand: string; autn: string; res: string; ck: string; ik: string }[];
}

const eap = loadVectors<EapFile>('eap_aka_prime_rfc5448.json');
const link = eap.milenage_link;

test('TS 33.102 6.3.2 AUTN = SQN^AK || AMF || MAC-A reproduces the AUTN of RFC 5448 cases 1-2 (TS 35.208 set 19): 2 of 2', () => {
  const m = new Milenage(fromHex(link.K), fromHex(link.OP), true);
  assert.equal(toHex(m.opc), link.OPc);
  for (const v of eap.vectors.slice(0, 2)) {
    const av = generateAuthVector(m, fromHex(v.rand), fromHex(link.SQN), fromHex(link.AMF));
    assert.equal(toHex(av.ak), link.AK);
    assert.equal(toHex(av.autn), v.autn);
    assert.equal(toHex(av.xres), v.res);
    assert.equal(toHex(av.ck), v.ck);
    assert.equal(toHex(av.ik), v.ik);
  }
});

test('TS 33.102 6.3.3 USIM: ok with RES/CK/IK, then replay -> sync_failure with AUTS; tampered MAC -> mac_failure', () => {
  const m = new Milenage(fromHex(link.K), fromHex(link.OPc));
  const gen = new SqnGenerator();
  const usim = new SqnArray();
  const rand = fromHex(eap.vectors[0]!.rand);
  const av = generateAuthVector(m, rand, gen.next(), fromHex('8000'));
  const r = verifyAutn(m, rand, av.autn, usim);
  assert.equal(r.kind, 'ok');
  if (r.kind === 'ok') {
    assert.deepEqual(r.res, av.xres);
    assert.deepEqual(r.ck, av.ck);
    assert.deepEqual(r.ik, av.ik);
  }
  const replay = verifyAutn(m, rand, av.autn, usim);
  assert.equal(replay.kind, 'sync_failure');
  const bad = av.autn.slice();
  bad[15]! ^= 1;
  assert.equal(verifyAutn(m, rand, bad, usim).kind, 'mac_failure');
  // Network side: AUTS recovers SQN_MS and MAC-S verifies; a corrupted AUTS is rejected.
  if (replay.kind === 'sync_failure') {
    const rs = resyncFromAuts(m, rand, replay.auts);
    assert.ok(rs.ok);
    if (rs.ok) assert.deepEqual(rs.sqnMs, usim.sqnMs());
    const corrupt = replay.auts.slice();
    corrupt[13]! ^= 0x80;
    assert.deepEqual(resyncFromAuts(m, rand, corrupt), { ok: false, reason: 'mac_s_failure' });
  }
});

test('TS 33.102 Annex C array scheme: per-IND freshness, delta and age limit, HE resynchronisation', () => {
  const usim = new SqnArray(1000, 100);
  assert.equal(usim.check(makeSqn(5, 3)), 'fresh');
  usim.accept(makeSqn(5, 3));
  assert.equal(usim.check(makeSqn(5, 3)), 'replayed');
  assert.equal(usim.check(makeSqn(4, 4)), 'fresh'); // lower SEQ accepted in another IND slot (out-of-order vectors)
  usim.accept(makeSqn(4, 4));
  assert.equal(usim.check(makeSqn(2000, 0)), 'too_far_ahead');
  usim.accept(makeSqn(500, 1));
  assert.equal(usim.check(makeSqn(300, 2)), 'too_old');
  assert.deepEqual(splitSqn(usim.sqnMs()), { seq: 500, ind: 1 });
  const m = new Milenage(new Uint8Array(16).fill(1), new Uint8Array(16).fill(2));
  const rand = new Uint8Array(16).fill(3);
  const rs = resyncFromAuts(m, rand, buildAuts(m, rand, usim.sqnMs()));
  assert.ok(rs.ok);
  const gen = new SqnGenerator();
  if (rs.ok) gen.resynchronise(rs.sqnMs);
  const next = gen.next();
  assert.equal(splitSqn(next).seq, 501);
  assert.equal(usim.check(next), 'fresh');
  assert.equal(IND_COUNT, 32);
  assert.throws(() => makeSqn(1, 32), CryptoInputError);
});
