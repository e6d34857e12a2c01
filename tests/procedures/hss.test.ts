import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildAuts, SqnArray, splitSqn, verifyAutn } from '../../crypto-core/aka-sqn.js';
import { fromHex } from '../../crypto-core/bytes.js';
import { Milenage } from '../../crypto-core/milenage.js';
import { Hss } from '../../procedures/eap/hss.js';

const rec = {
  imsi: '001010000000001',
  k: '465b5ce8b199b49faa5f0a2ee238a6bc',
  opc: 'cd63cb71954a9f4e48a5994e37a02baf',
};

test("HSS: SEQ increases per vector with IND cycling; AMF defaults to the AKA' separation bit; unknown IMSI -> undefined", () => {
  const hss = new Hss([rec]);
  const a = hss.vector(rec.imsi)!;
  const b = hss.vector(rec.imsi)!;
  assert.deepEqual(splitSqn(a.sqn), { seq: 1, ind: 0 });
  assert.deepEqual(splitSqn(b.sqn), { seq: 2, ind: 1 });
  assert.equal(a.autn[6]! & 0x80, 0x80);
  assert.equal(hss.vector('999'), undefined);
  // The USIM accepts both (TS 33.102 Annex C array scheme).
  const usim = new Milenage(fromHex(rec.k), fromHex(rec.opc));
  const store = new SqnArray();
  assert.equal(verifyAutn(usim, a.rand, a.autn, store).kind, 'ok');
  assert.equal(verifyAutn(usim, b.rand, b.autn, store).kind, 'ok');
  assert.equal(verifyAutn(usim, b.rand, b.autn, store).kind, 'sync_failure', 'replayed AUTN');
});

test('HSS: resync from a genuine AUTS moves SEQ_HE above SEQ_MS; a forged AUTS does not; snapshot/restore keeps SQN_HE', () => {
  const hss = new Hss([rec]);
  const usim = new Milenage(fromHex(rec.k), fromHex(rec.opc));
  const rand = new Uint8Array(16).fill(7);
  const store = new SqnArray();
  store.accept(fromHex('000000001f40')); // SEQ 250, IND 0
  const auts = buildAuts(usim, rand, store.sqnMs());
  const forged = auts.slice();
  forged[13]! ^= 1;
  assert.equal(hss.resync(rec.imsi, rand, forged), false);
  assert.equal(hss.resync(rec.imsi, rand, auts), true);
  const v = hss.vector(rec.imsi)!;
  assert.equal(splitSqn(v.sqn).seq, 251);
  const saved = hss.snapshot();
  const again = new Hss([rec]);
  again.restore(saved);
  assert.equal(splitSqn(again.vector(rec.imsi)!.sqn).seq, 252);
  // Restoring an older state never moves SQN_HE backwards.
  again.restore({ [rec.imsi]: [3, 0] });
  assert.equal(splitSqn(again.vector(rec.imsi)!.sqn).seq, 253);
});
