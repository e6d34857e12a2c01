// Network-supported group key distribution (TR 33.833 sol. #3.2): GBA push of the group key, and the key server's
// white-list and invitation variants (nodes/roles/key-server.ts KeyServerService, without sockets).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { generateAuthVector, makeSqn, SqnArray } from '../../crypto-core/aka-sqn.js';
import { fromHex } from '../../crypto-core/bytes.js';
import { Milenage } from '../../crypto-core/milenage.js';
import { nafId } from '../../crypto-core/ts33220-gba.js';
import { KeyServerService } from '../../nodes/roles/key-server.js';
import {
  buildGroupKeyPush,
  DEFAULT_NAF_FQDN,
  impiOf,
  openGroupKeyPush,
  PROSEC_UA_PROTOCOL_ID,
} from '../../procedures/group/gba-push.js';
import { GMK_PURPOSE, gmkPurposeOf, newGmkId } from '../../procedures/group/gmk-distribution.js';
import type { Pc3Message } from '../../transport/pc3/messages.js';
import type { Pc3Peer } from '../../transport/pc3/server.js';

const NOW = Date.UTC(2026, 11, 5, 6, 0, 0);
const NAF = nafId(DEFAULT_NAF_FQDN, PROSEC_UA_PROTOCOL_ID);
const K = randomBytes(16).toString('hex');
const OPC = randomBytes(16).toString('hex');
const IMSI = '001019000000001';
const record = (gmkId = newGmkId('network')) => ({
  groupId: 'delta',
  gmkId,
  gmk: new Uint8Array(randomBytes(16)),
  activatedAtMs: NOW,
  expiresAtMs: NOW + 60_000,
});
const usim = (k = K) => ({
  milenage: new Milenage(fromHex(k), fromHex(OPC)),
  sqn: new SqnArray(),
  impi: impiOf(IMSI),
});
let seq = 0;
const push = (rec = record(), imsi = IMSI) => {
  const av = generateAuthVector(
    new Milenage(fromHex(K), fromHex(OPC)),
    randomBytes(16),
    makeSqn(++seq, 0),
    fromHex('0000'),
  );
  return buildGroupKeyPush({ av, impi: impiOf(imsi), naf: NAF, record: rec });
};

test('GBA push: the USIM authenticates the network and opens the group key; replay, other subscriber, tampering, wrong NAF/group, key space and expiry are refused', () => {
  const u = usim();
  const rec = record();
  const p = push(rec);
  const r = openGroupKeyPush(p, u, NAF, 'delta', NOW);
  assert.ok(r.ok);
  assert.deepEqual([...r.record.gmk], [...rec.gmk]);
  assert.equal(r.record.gmkId, rec.gmkId);
  // The same push again: the SQN is no longer fresh at the USIM.
  assert.deepEqual(openGroupKeyPush(p, u, NAF, 'delta', NOW), { ok: false, reason: 'sync_failure' });
  // Another subscriber's USIM (other K): MAC-A fails, nothing is derived.
  assert.deepEqual(openGroupKeyPush(push(), usim(randomBytes(16).toString('hex')), NAF, 'delta', NOW), {
    ok: false,
    reason: 'mac_failure',
  });
  // A push built for another IMPI: the USIM accepts AUTN but derives another Ks_NAF.
  assert.deepEqual(openGroupKeyPush(push(record(), '001019000000002'), usim(), NAF, 'delta', NOW), {
    ok: false,
    reason: 'bad_seal',
  });
  const flip = (at: number) => {
    const q = push();
    q[at]! ^= 1;
    return openGroupKeyPush(q, usim(), NAF, 'delta', NOW);
  };
  assert.deepEqual(flip(3), { ok: false, reason: 'mac_failure' }, 'RAND');
  assert.deepEqual(flip(30), { ok: false, reason: 'mac_failure' }, 'AUTN MAC-A');
  assert.deepEqual(flip(40), { ok: false, reason: 'bad_seal' }, 'P-TID is in the AAD');
  assert.deepEqual(flip(p.length - 30), { ok: false, reason: 'bad_seal' }, 'sealed key');
  const otherNaf = nafId('other.prosec.test', PROSEC_UA_PROTOCOL_ID);
  assert.deepEqual(openGroupKeyPush(push(), usim(), otherNaf, 'delta', NOW), {
    ok: false,
    reason: 'wrong_naf',
  });
  assert.deepEqual(openGroupKeyPush(push(), usim(), NAF, 'echo', NOW), { ok: false, reason: 'wrong_group' });
  assert.deepEqual(openGroupKeyPush(push(record(newGmkId('pc3'))), usim(), NAF, 'delta', NOW), {
    ok: false,
    reason: 'wrong_key_space',
  });
  assert.deepEqual(openGroupKeyPush(push(), usim(), NAF, 'delta', NOW + 60_000), {
    ok: false,
    reason: 'expired',
  });
  for (let n = 0; n < p.length; n += 7)
    assert.equal(openGroupKeyPush(p.subarray(0, n), usim(), NAF, 'delta', NOW).ok, false);
});

const peer = (nodeId: string) => ({ nodeId, role: 'ue' }) as unknown as Pc3Peer;
const req = (groupId: string) => ({ v: 1, id: 1, type: 'gba_key_request', body: { groupId } }) as Pc3Message;
const invite = (groupId: string, members: string[]) =>
  ({ v: 1, id: 2, type: 'gba_invite', body: { groupId, members } }) as Pc3Message;

test('key server: white-list members get a push they can open; the invitation variant pushes only to invited members; refusals by cause', async () => {
  const subs = ['ue-1', 'ue-2', 'ue-3', 'ue-9'].map((id, i) => ({
    ueId: id,
    imsi: `00101900000000${i + 1}`,
    k: randomBytes(16).toString('hex'),
    opc: randomBytes(16).toString('hex'),
  }));
  const svc = new KeyServerService(
    {
      nafFqdn: DEFAULT_NAF_FQDN,
      subscribers: subs,
      groups: [
        { groupId: 'delta', variant: 'whitelist', members: ['ue-1', 'ue-2'], periodMs: 60_000 },
        {
          groupId: 'echo',
          variant: 'invitation',
          members: ['ue-1', 'ue-2', 'ue-3'],
          owner: 'ue-1',
          periodMs: 60_000,
        },
      ],
    },
    {},
    50,
  );
  const usimOf = (id: string) => {
    const s = subs.find((x) => x.ueId === id)!;
    return {
      milenage: new Milenage(fromHex(s.k), fromHex(s.opc)),
      sqn: new SqnArray(),
      impi: impiOf(s.imsi),
    };
  };
  const open = (reply: Awaited<ReturnType<KeyServerService['handle']>>, id: string, group: string) => {
    assert.equal(reply.type, 'gba_key_push');
    return openGroupKeyPush(
      fromHex((reply.body as { push: string }).push),
      usimOf(id),
      NAF,
      group,
      Date.now(),
    );
  };
  const a = open(await svc.handle(req('delta'), peer('ue-1')), 'ue-1', 'delta');
  const b = open(await svc.handle(req('delta'), peer('ue-2')), 'ue-2', 'delta');
  assert.ok(a.ok && b.ok);
  assert.equal(a.record.gmkId, b.record.gmkId, 'one group key, pushed to each member under its own Ks_NAF');
  assert.equal(gmkPurposeOf(a.record.gmkId), GMK_PURPOSE.network);
  // ue-2's push does not open with ue-1's USIM.
  assert.equal(open(await svc.handle(req('delta'), peer('ue-2')), 'ue-1', 'delta').ok, false);
  const rej = async (m: Pc3Message, id: string) => {
    const r = await svc.handle(m, peer(id));
    return r.type === 'gba_key_reject' ? r.body.cause : r.type;
  };
  assert.equal(await rej(req('delta'), 'ue-3'), 'not_member');
  assert.equal(await rej(req('delta'), 'ue-7'), 'no_subscription');
  assert.equal(await rej(req('nope'), 'ue-1'), 'unknown_group');
  assert.equal(await rej(invite('echo', ['ue-2']), 'ue-2'), 'not_owner');
  assert.equal(await rej(invite('delta', ['ue-2']), 'ue-1'), 'not_owner');
  // Invitation: ue-2 asks before it is invited (long poll, answered pending), then is invited while it waits.
  assert.equal(await rej(req('echo'), 'ue-2'), 'gba_key_pending');
  const waiting = svc.handle(req('echo'), peer('ue-2'));
  const inv = await svc.handle(invite('echo', ['ue-2', 'ue-9']), peer('ue-1'));
  assert.deepEqual(inv.body, { groupId: 'echo', invited: 1 }, 'ue-9 is not a member: not invited');
  assert.ok(open(await waiting, 'ue-2', 'echo').ok);
  assert.ok(open(await svc.handle(req('echo'), peer('ue-1')), 'ue-1', 'echo').ok, 'the owner gets it');
  assert.equal(await rej(req('echo'), 'ue-3'), 'gba_key_pending', 'never invited: never a push');
  assert.deepEqual(svc.stats.refused, { not_member: 1, no_subscription: 1, unknown_group: 1, not_owner: 2 });
});
