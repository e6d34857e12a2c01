// Ad-hoc GMK distribution (procedures/group/adhoc-gmk.ts): the creator's GMK travels over a real direct link
// (certificate KD, direct security mode, protected user plane) and the member accepts it only from the creator.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { DirectLinkOutput } from '../../procedures/direct-link/direct-link.js';
import {
  AdhocGmkCreator,
  acceptAdhocGmk,
  decodeAdhocMessage,
  encodeAdhocMessage,
} from '../../procedures/group/adhoc-gmk.js';
import { GMK_PURPOSE, gmkPurposeOf, newGmkId } from '../../procedures/group/gmk-distribution.js';
import { endpoint, FakeClock, pump, type Sent } from './direct-link-fixtures.js';

const NOW = Date.UTC(2026, 11, 5, 6, 0, 0);
const creatorOf = (g: string) => (g === 'team' ? 'mary' : undefined);

test('ad-hoc GMK: the creator sends the GMK over a direct link, the member installs it and acknowledges; an eavesdropper sees neither GMK nor group ID', async () => {
  const clock = new FakeClock();
  const policy = { signallingCiphering: true, userPlaneCiphering: true, userPlaneIntegrity: true };
  const eps = {
    mary: await endpoint('mary', { policy }, clock),
    john: await endpoint('john', { policy }, clock),
  };
  const creator = new AdhocGmkCreator({ groupId: 'team', members: ['john', 'peter'], periodMs: 60_000 });
  const gmk = creator.rekey(NOW);
  assert.equal(gmkPurposeOf(gmk.gmkId), GMK_PURPOSE.adhoc);
  assert.deepEqual(creator.todo(), { transfer: ['john', 'peter'], notify: [] });
  const c = eps.mary.connect('john', 'john', 'certificate');
  const setup = pump(eps, 'mary', c.out);
  const up = setup.find((o) => o.kind === 'established' && o.at === 'john') as Extract<
    DirectLinkOutput,
    { kind: 'established' }
  >;
  assert.equal(up.peerId, 'mary', 'the member learns the creator identity from the link authentication');
  const wire: Sent[] = [];
  const got = pump(eps, 'mary', eps.mary.sendData(c.linkId, creator.messageFor('john')!), undefined, wire);
  const data = got.find((o) => o.kind === 'data') as Extract<DirectLinkOutput, { kind: 'data' }>;
  // On the air: neither the GMK nor the group ID in clear.
  const hex = Buffer.from(wire[0]!.bytes).toString('hex');
  assert.equal(hex.includes(Buffer.from(gmk.gmk).toString('hex')), false);
  assert.equal(hex.includes(Buffer.from('team').toString('hex')), false);
  const m = decodeAdhocMessage(data.payload)!;
  const r = acceptAdhocGmk(m, up.peerId, creatorOf, NOW + 10);
  assert.ok(r.ok);
  assert.deepEqual({ ...r.record, gmk: [...r.record.gmk] }, { ...gmk, gmk: [...gmk.gmk] });
  // The ack completes john; peter is still owed the GMK.
  const ack = decodeAdhocMessage(encodeAdhocMessage({ type: 'ack', groupId: 'team', gmkId: gmk.gmkId }))!;
  assert.deepEqual(creator.ack('john', ack, NOW + 25), { ms: 25, allDone: false });
  assert.equal(creator.ack('john', ack, NOW + 26), undefined, 'a second ack changes nothing');
  assert.deepEqual(creator.todo().transfer, ['peter']);
  // Removing peter: a new GMK for john only, and a removal notice owed to peter.
  const next = creator.remove('peter', NOW + 100);
  assert.notEqual(next.gmkId, gmk.gmkId);
  assert.deepEqual(creator.todo(), { transfer: ['john'], notify: ['peter'] });
  assert.deepEqual(decodeAdhocMessage(creator.messageFor('peter')!), { type: 'removed', groupId: 'team' });
  assert.equal(creator.messageFor('peter'), undefined, 'the notice is sent once');
  const stale = decodeAdhocMessage(encodeAdhocMessage({ type: 'ack', groupId: 'team', gmkId: gmk.gmkId }))!;
  assert.equal(
    creator.ack('john', stale, NOW + 120),
    undefined,
    'an ack of the old GMK does not complete john',
  );
});

test('ad-hoc GMK: rejected from a non-creator, for an unknown group, from another key space, or expired', () => {
  const rec = {
    groupId: 'team',
    gmkId: newGmkId('adhoc'),
    gmk: new Uint8Array(16).fill(1),
    activatedAtMs: NOW,
    expiresAtMs: NOW + 1000,
  };
  const m = decodeAdhocMessage(encodeAdhocMessage({ type: 'transfer', record: rec }))!;
  assert.deepEqual(acceptAdhocGmk(m, 'eve', creatorOf, NOW), { ok: false, reason: 'not_creator' });
  const other = decodeAdhocMessage(
    encodeAdhocMessage({ type: 'transfer', record: { ...rec, groupId: 'x' } }),
  )!;
  assert.deepEqual(acceptAdhocGmk(other, 'mary', creatorOf, NOW), { ok: false, reason: 'unknown_group' });
  const std = { ...rec, gmkId: newGmkId('standard') };
  const s = decodeAdhocMessage(encodeAdhocMessage({ type: 'transfer', record: std }))!;
  assert.deepEqual(acceptAdhocGmk(s, 'mary', creatorOf, NOW), { ok: false, reason: 'wrong_key_space' });
  assert.deepEqual(acceptAdhocGmk(m, 'mary', creatorOf, NOW + 1000), { ok: false, reason: 'expired' });
  assert.ok(acceptAdhocGmk(m, 'mary', creatorOf, NOW + 999).ok);
});

test('ad-hoc messages: random and truncated input decodes to undefined or round-trips, never throws', () => {
  const good = encodeAdhocMessage({
    type: 'transfer',
    record: { groupId: 'g', gmkId: 1, gmk: new Uint8Array(16), activatedAtMs: 1, expiresAtMs: 2 },
  });
  for (let n = 0; n < good.length; n++) assert.equal(decodeAdhocMessage(good.subarray(0, n)), undefined);
  assert.equal(decodeAdhocMessage(Uint8Array.of(...good, 0)), undefined);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
      const m = decodeAdhocMessage(b);
      if (m) assert.deepEqual(decodeAdhocMessage(encodeAdhocMessage(m)), m);
    }),
    { numRuns: 2000 },
  );
});
