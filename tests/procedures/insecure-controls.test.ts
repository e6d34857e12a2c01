// The threat matrix's INSECURE control knobs (docs/threat-matrix.md) at procedure level: each switches off exactly
// its defence, and the default keeps it on. A control that does not weaken anything would make a matrix row pass
// against a defence that never ran; a default that weakens would be a vulnerability.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { generateKmsMasterKeys, issueBundle } from '../../crypto-core/kms-bundle.js';
import { identityFor } from '../../crypto-core/rfc6509-identity.js';
import { GroupKeyService } from '../../nodes/roles/prose-function-group-keys.js';
import { decodeDiscovery, encodeDiscovery, signedPart } from '../../procedures/discovery/messages.js';
import {
  ecdsaSigner,
  ecdsaVerifier,
  OpenAnnouncer,
  OpenMonitor,
} from '../../procedures/discovery/open-discovery.js';
import { GmkReceiver, newGmkId } from '../../procedures/group/gmk-distribution.js';
import { GroupCallReceiver, prepareCallInit } from '../../procedures/group/group-call.js';
import { inlineGroupCrypto, receiveCallInit, signCallInit } from '../../procedures/group/group-crypto.js';
import { makeMessage } from '../../transport/pc3/messages.js';

const SLOT = 1000;
const T0 = 1_800_000_000_000;

test('open discovery: a forgery under the victim’s code is bad_signature by default; acceptUnsigned matches it, flagged forged', () => {
  const victim = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const attacker = ecdsaSigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  const code = randomBytes(8);
  const genuine = new OpenAnnouncer(code, ecdsaSigner(victim.privateKey), { slotMs: SLOT }).announce(T0);
  const d = decodeDiscovery(genuine);
  assert.equal(d.kind, 'open');
  if (d.kind !== 'open') return;
  const fake = { ...d, nonce: randomBytes(8) };
  fake.signature = attacker.sign(signedPart(fake));
  const forged = encodeDiscovery(fake);
  const entries = [{ owner: 'mary', code, verifier: ecdsaVerifier(victim.publicKey) }];
  const defended = new OpenMonitor({ slotMs: SLOT });
  defended.setEntries(entries);
  assert.deepEqual(defended.receive(forged, T0), { type: 'rejected', cause: 'bad_signature' });
  assert.deepEqual(defended.receive(genuine, T0), { type: 'match', owner: 'mary', code });
  const control = new OpenMonitor({ slotMs: SLOT, acceptUnsigned: true });
  control.setEntries(entries);
  assert.deepEqual(control.receive(forged, T0), { type: 'match', owner: 'mary', code, forged: true });
  // The genuine announcement is still a plain match (not flagged), and the other checks still run.
  assert.deepEqual(control.receive(genuine, T0), { type: 'match', owner: 'mary', code });
  assert.deepEqual(control.receive(genuine, T0), { type: 'rejected', cause: 'replay' });
  assert.deepEqual(control.receive(forged, T0 + 5 * SLOT), { type: 'rejected', cause: 'stale' });
});

test('group call set-up: a replayed call-init is `replay` by default; noReplayCheck accepts it for that group only', async () => {
  const kms = generateKmsMasterKeys('kms.test.prosec');
  const alice = 'prose-ue:alice';
  const crypto = (uri: string) =>
    inlineGroupCrypto(issueBundle(kms, identityFor(uri, new Date(T0)), new Date(T0)));
  const gmk = {
    gmkId: newGmkId('pc3'),
    gmk: randomBytes(16),
    activatedAtMs: T0,
    expiresAtMs: T0 + 3_600_000,
  };
  const receiver = (noReplayCheck?: Set<string>) => {
    const gmks = new GmkReceiver({ selfUri: 'prose-ue:bob', trustedSigner: () => undefined });
    for (const groupId of ['g1', 'g2'])
      assert.ok(
        gmks.installDirect({ groupId, ...gmk, gmkId: gmk.gmkId + (groupId === 'g2' ? 1 : 0) }, T0).ok,
      );
    return new GroupCallReceiver({ gmks, ...(noReplayCheck ? { noReplayCheck } : {}) });
  };
  const aliceCrypto = crypto(alice);
  const bobCrypto = crypto('prose-ue:bob');
  const initFor = async (groupId: string, gmkId: number) =>
    signCallInit(prepareCallInit({ groupId, ...gmk, gmkId }, alice, T0), aliceCrypto);
  const g1 = await initFor('g1', gmk.gmkId);
  const g2 = await initFor('g2', gmk.gmkId + 1);
  const defended = receiver();
  assert.ok((await receiveCallInit(defended, g1, bobCrypto, T0 + 5)).ok);
  assert.deepEqual(await receiveCallInit(defended, g1, bobCrypto, T0 + 55), { ok: false, reason: 'replay' });
  const control = receiver(new Set(['g1']));
  for (const t of [5, 55]) assert.ok((await receiveCallInit(control, g1, bobCrypto, T0 + t)).ok);
  assert.ok((await receiveCallInit(control, g2, bobCrypto, T0 + 5)).ok);
  assert.deepEqual(await receiveCallInit(control, g2, bobCrypto, T0 + 55), { ok: false, reason: 'replay' });
  // The timestamp window still applies under the control.
  assert.deepEqual(await receiveCallInit(control, g1, bobCrypto, T0 + 120_000), {
    ok: false,
    reason: 'stale',
  });
});

test('PC3 group key: a registered non-member is `not_member` by default; anyoneMayFetch gives it the key, counted', () => {
  const members = new Set(['ue-1']);
  const registered = new Set(['ue-1', 'ue-4']);
  const service = (anyoneMayFetch: boolean) =>
    new GroupKeyService(
      [
        {
          groupId: 'bravo',
          periodMs: 60_000,
          algorithm: 'nea2-nia2',
          ...(anyoneMayFetch ? { insecure: { anyoneMayFetch } } : {}),
        },
      ],
      (_g, ue) => registered.has(ue) && members.has(ue),
      () => T0,
      (ue) => registered.has(ue),
    );
  const peer = (nodeId: string, role = 'ue') => ({
    nodeId,
    role,
    remoteAddress: '127.0.0.1',
    remotePort: 1,
    serialNumber: '01',
  });
  const ask = (s: GroupKeyService, p: ReturnType<typeof peer>) =>
    s.handle(makeMessage('group_key_request', 1, { groupId: 'bravo' }), p)?.type;
  const defended = service(false);
  assert.equal(ask(defended, peer('ue-1')), 'group_key_response');
  assert.equal(ask(defended, peer('ue-4')), 'group_key_reject');
  assert.equal(defended.issuedToNonMembers, 0);
  const control = service(true);
  assert.equal(ask(control, peer('ue-4')), 'group_key_response');
  assert.equal(ask(control, peer('ue-1')), 'group_key_response');
  assert.equal(control.issuedToNonMembers, 1);
  // Even the control wants a registered UE certificate.
  assert.equal(ask(control, peer('ue-9')), 'group_key_reject');
  assert.equal(ask(control, peer('ue-4', 'relay')), 'group_key_reject');
});
