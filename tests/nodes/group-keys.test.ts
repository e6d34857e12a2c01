import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GroupKeyService } from '../../nodes/roles/prose-function-group-keys.js';
import { GMK_PURPOSE, gmkPurposeOf } from '../../procedures/group/gmk-distribution.js';
import { decodeGroupSignalling, encodeGroupSignalling } from '../../procedures/group/signalling.js';
import type { Pc3Message } from '../../transport/pc3/messages.js';
import type { Pc3Peer } from '../../transport/pc3/server.js';

const peer = (nodeId: string, role = 'ue') => ({ nodeId, role }) as unknown as Pc3Peer;
const req = (groupId: string) =>
  ({ v: 1, id: 1, type: 'group_key_request', body: { groupId } }) as Pc3Message;

test('PC3 group key (sol. #3.5): members only, same key within the period, the next key in its last 20%', () => {
  let now = 1_000_000;
  const svc = new GroupKeyService(
    [{ groupId: 'bravo', periodMs: 10_000, algorithm: 'nea2-nia2' }],
    (g, ue) => g === 'bravo' && ue !== 'eve',
    () => now,
  );
  const a = svc.handle(req('bravo'), peer('ue-1'));
  assert.equal(a?.type, 'group_key_response');
  const ka = (a as { body: { gmkId: number; key: string; expiresAtMs: number } }).body;
  assert.equal(gmkPurposeOf(ka.gmkId), GMK_PURPOSE.pc3);
  assert.equal(ka.expiresAtMs, now + 10_000);
  now += 7000;
  const b = (svc.handle(req('bravo'), peer('ue-2')) as { body: typeof ka }).body;
  assert.deepEqual(b, ka, 'same key for every member within the period');
  now += 1500; // 85% of the period: reconfiguration
  const c = (svc.handle(req('bravo'), peer('ue-1')) as { body: typeof ka }).body;
  assert.notEqual(c.gmkId, ka.gmkId);
  assert.notEqual(c.key, ka.key);
  assert.equal(svc.rotated, 1);
  assert.equal(svc.handle(req('bravo'), peer('eve'))?.type, 'group_key_reject');
  assert.equal(svc.handle(req('alpha'), peer('ue-1'))?.type, 'group_key_reject');
  assert.equal(svc.handle(req('bravo'), peer('gm', 'group-manager'))?.type, 'group_key_reject');
  assert.equal(
    svc.handle({ v: 1, id: 2, type: 'config_request', body: {} } as Pc3Message, peer('ue-1')),
    undefined,
  );
});

test('group signalling envelope: round trip; wrong version, type or length is malformed', () => {
  const m = Uint8Array.of(1, 2, 3);
  const e = encodeGroupSignalling(123n, m);
  assert.deepEqual(decodeGroupSignalling(e), { sentNs: 123n, mikey: m });
  for (const bad of [
    e.slice(0, 10),
    Uint8Array.of(2, ...e.subarray(1)),
    Uint8Array.of(1, 9, ...e.subarray(2)),
  ])
    assert.equal(decodeGroupSignalling(bad), undefined);
});
