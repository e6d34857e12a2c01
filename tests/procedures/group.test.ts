import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gcm } from '@noble/ciphers/aes.js';
import { generateKmsMasterKeys, issueBundle, type UeKeyBundle } from '../../crypto-core/kms-bundle.js';
import { deriveAesGcmKey, derivePtk } from '../../crypto-core/prose-kdf.js';
import { identityFor } from '../../crypto-core/rfc6509-identity.js';
import {
  GMK_PURPOSE,
  GmkDistributor,
  GmkReceiver,
  gmkPurposeOf,
  groupIdentityUri,
} from '../../procedures/group/gmk-distribution.js';
import { GroupCallReceiver, prepareCallInit } from '../../procedures/group/group-call.js';
import {
  deliverGmk,
  inlineGroupCrypto,
  receiveCallInit,
  receiveGmk,
  shareVerifications,
  signCallInit,
} from '../../procedures/group/group-crypto.js';
import {
  AES_GCM_GROUP_MEDIA_ALGS,
  GROUP_MEDIA_VERSION_GCM,
  GroupMediaReceiver,
  GroupMediaSender,
  TS33303_GROUP_MEDIA_ALGS,
} from '../../procedures/group/group-media.js';

const NOW = Date.UTC(2026, 10, 24, 12, 0, 0);
const GROUP = 'g1';
const GROUP_L2 = 0x00a001;
const KMS = 'kms.test.prosec';
const master = generateKmsMasterKeys(KMS);
const bundles = new Map<string, UeKeyBundle>();
function bundle(uri: string): UeKeyBundle {
  let b = bundles.get(uri);
  if (!b) {
    b = issueBundle(master, identityFor(uri, new Date(NOW)), new Date(NOW));
    bundles.set(uri, b);
  }
  return b;
}
const GM = groupIdentityUri(GROUP);
const ALICE = 'prose-ue:alice';
const BOB = 'prose-ue:bob';
const CAROL = 'prose-ue:carol';
const EVE = 'prose-ue:eve';

function member(uri: string) {
  const gmks = new GmkReceiver({ selfUri: uri, trustedSigner: (g) => (g === GROUP ? GM : undefined) });
  return { uri, gmks, calls: new GroupCallReceiver({ gmks }), crypto: inlineGroupCrypto(bundle(uri)) };
}

function distributor(periodMs = 3_600_000) {
  const d = new GmkDistributor({ groupId: GROUP, groupUri: GM, kmsUri: KMS, periodMs });
  for (const m of [ALICE, BOB, CAROL]) d.addMember(m);
  d.tick(NOW);
  return d;
}

async function imessages(d: GmkDistributor, now = NOW, signerUri = GM) {
  const crypto = inlineGroupCrypto(bundle(signerUri));
  const out = new Map<string, Uint8Array>();
  for (const job of d.jobs(now)) out.set(job.memberUri, await deliverGmk(d, job, crypto, now));
  return out;
}

test('standard GMK distribution: every member installs the same GMK; GMK-ID has the standard purpose tag', async () => {
  const d = distributor();
  const msgs = await imessages(d);
  assert.equal(msgs.size, 3);
  for (const uri of [ALICE, BOB, CAROL]) {
    const m = member(uri);
    const r = await receiveGmk(m.gmks, msgs.get(uri)!, m.crypto, NOW + 10);
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.record.gmk, d.current()!.gmk);
    assert.equal(r.record.gmkId, d.current()!.gmkId);
  }
  assert.equal(gmkPurposeOf(d.current()!.gmkId), GMK_PURPOSE.standard);
});

test('forged GMK distribution: signed by another identity, or by an untrusted signer, is rejected', async () => {
  const d = distributor();
  // Eve signs an I_MESSAGE that claims to come from the group identity: the ECCSI check fails.
  const forged = await imessages(d, NOW, EVE);
  const alice = member(ALICE);
  const r1 = await receiveGmk(alice.gmks, forged.get(ALICE)!, alice.crypto, NOW);
  assert.deepEqual(r1, { ok: false, reason: 'signature' });
  // Eve runs her own "group manager" under her identity: the signer is not the group's.
  const e = new GmkDistributor({ groupId: GROUP, groupUri: EVE, kmsUri: KMS, periodMs: 60_000 });
  e.addMember(ALICE);
  e.tick(NOW);
  const own = await imessages(e, NOW, EVE);
  const r2 = await receiveGmk(alice.gmks, own.get(ALICE)!, alice.crypto, NOW);
  assert.deepEqual(r2, { ok: false, reason: 'untrusted_signer' });
  // One flipped bit in the signature.
  const good = (await imessages(d)).get(ALICE)!;
  good[good.length - 70]! ^= 1;
  assert.deepEqual(await receiveGmk(alice.gmks, good, alice.crypto, NOW), { ok: false, reason: 'signature' });
  assert.equal(alice.gmks.current(GROUP), undefined);
});

test('I_MESSAGE for another identity: wrong recipient, and the wrong RSK cannot decapsulate it', async () => {
  const d = distributor();
  const msgs = await imessages(d);
  const bob = member(BOB);
  assert.deepEqual(await receiveGmk(bob.gmks, msgs.get(ALICE)!, bob.crypto, NOW), {
    ok: false,
    reason: 'wrong_recipient',
  });
  // Bob pretending to be Alice (her URI, his RSK): SAKKE decapsulation fails.
  const gmks = new GmkReceiver({ selfUri: ALICE, trustedSigner: () => GM });
  assert.deepEqual(await receiveGmk(gmks, msgs.get(ALICE)!, bob.crypto, NOW), { ok: false, reason: 'sakke' });
});

test('expired GMK: I_MESSAGE after the period of use, and a call under an expired GMK, are rejected', async () => {
  const d = distributor(1000);
  const msgs = await imessages(d);
  const alice = member(ALICE);
  assert.deepEqual(await receiveGmk(alice.gmks, msgs.get(ALICE)!, alice.crypto, NOW + 1500), {
    ok: false,
    reason: 'expired',
  });
  const bob = member(BOB);
  assert.ok((await receiveGmk(bob.gmks, msgs.get(BOB)!, bob.crypto, NOW)).ok);
  const init = await signCallInit(prepareCallInit(d.current()!, ALICE, NOW + 1200), alice.crypto);
  assert.deepEqual(await receiveCallInit(bob.calls, init, bob.crypto, NOW + 1200), {
    ok: false,
    reason: 'expired',
  });
  // The distributor rotates on expiry.
  const ev = d.tick(NOW + 1000);
  assert.equal(ev[0]?.type, 'rekey');
});

test('newest GMK by timestamp: an older I_MESSAGE does not replace a newer one', async () => {
  const d = distributor();
  const first = await imessages(d, NOW);
  d.rotate(NOW + 1000, 'manual');
  const second = await imessages(d, NOW + 1000);
  const alice = member(ALICE);
  assert.ok((await receiveGmk(alice.gmks, second.get(ALICE)!, alice.crypto, NOW + 1000)).ok);
  assert.deepEqual(await receiveGmk(alice.gmks, first.get(ALICE)!, alice.crypto, NOW + 1001), {
    ok: false,
    reason: 'stale',
  });
  assert.equal(alice.gmks.current(GROUP)!.gmkId, d.current()!.gmkId);
  assert.deepEqual(await receiveGmk(alice.gmks, new Uint8Array([1, 2, 3]), alice.crypto, NOW), {
    ok: false,
    reason: 'malformed',
  });
});

async function provisioned() {
  const d = distributor();
  const msgs = await imessages(d);
  const ms = [ALICE, BOB, CAROL].map(member);
  for (const m of ms) assert.ok((await receiveGmk(m.gmks, msgs.get(m.uri)!, m.crypto, NOW)).ok);
  return { d, alice: ms[0]!, bob: ms[1]!, carol: ms[2]! };
}

test('group call: signed MIKEY PSK message carries the GSK under the GMK; members derive the same context', async () => {
  const { alice, bob, carol } = await provisioned();
  const u = prepareCallInit(alice.gmks.current(GROUP)!, ALICE, NOW);
  const init = await signCallInit(u, alice.crypto);
  for (const m of [bob, carol]) {
    const r = await receiveCallInit(m.calls, init, m.crypto, NOW + 5);
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.context.gsk, u.context.gsk);
    assert.equal(r.context.gskId, u.context.gskId);
    assert.equal(r.context.initiatorUri, ALICE);
  }
  // Replayed call-init: same GSK-ID again.
  assert.deepEqual(await receiveCallInit(bob.calls, init, bob.crypto, NOW + 6), {
    ok: false,
    reason: 'replay',
  });
});

test('group call rejections: unknown GMK-ID, tampered KEMAC, forged signer, stale timestamp', async () => {
  const { alice, bob } = await provisioned();
  const other = distributor(); // a GMK Bob never received
  const unknown = await signCallInit(prepareCallInit(other.current()!, ALICE, NOW), alice.crypto);
  assert.deepEqual(await receiveCallInit(bob.calls, unknown, bob.crypto, NOW), {
    ok: false,
    reason: 'unknown_key',
  });
  const good = await signCallInit(prepareCallInit(alice.gmks.current(GROUP)!, ALICE, NOW), alice.crypto);
  const tampered = good.slice();
  tampered[good.length - 129 - 2 - 25]! ^= 0x10; // inside the KEMAC MAC
  assert.deepEqual(await receiveCallInit(bob.calls, tampered, bob.crypto, NOW), { ok: false, reason: 'mac' });
  // Signed with Carol's key but claiming Alice as initiator (IDRi): the ECCSI check fails.
  const carolKey = inlineGroupCrypto(bundle(CAROL));
  const forged = await signCallInit(prepareCallInit(alice.gmks.current(GROUP)!, ALICE, NOW), carolKey);
  assert.deepEqual(await receiveCallInit(bob.calls, forged, bob.crypto, NOW), {
    ok: false,
    reason: 'signature',
  });
  assert.deepEqual(await receiveCallInit(bob.calls, good, bob.crypto, NOW + 120_000), {
    ok: false,
    reason: 'stale',
  });
});

test('group media: per-sender keys, tampered and replayed PDUs rejected, non-member and removed member decrypt nothing', async () => {
  const { d, alice, bob, carol } = await provisioned();
  const u = prepareCallInit(alice.gmks.current(GROUP)!, ALICE, NOW);
  const init = await signCallInit(u, alice.crypto);
  const rxBob = new GroupMediaReceiver(GROUP_L2);
  const ctx = await receiveCallInit(bob.calls, init, bob.crypto, NOW);
  assert.ok(ctx.ok);
  rxBob.addCall(ctx.context.gskId, ctx.context.gsk);
  const A_L2 = 0x000101;
  const C_L2 = 0x000103;
  const txA = new GroupMediaSender(u.context.gsk, u.context.gskId, A_L2, GROUP_L2);
  const txC = new GroupMediaSender(u.context.gsk, u.context.gskId, C_L2, GROUP_L2);
  const payload = new Uint8Array(64).fill(7);
  const pa = txA.protect(payload);
  const pc = txC.protect(payload);
  // Same GSK, same COUNT, same payload: different ciphertexts (per-sender PTK, no shared keystream).
  assert.notDeepEqual(pa.subarray(12, 76), pc.subarray(12, 76));
  const ra = rxBob.unprotect(A_L2, pa);
  assert.ok(ra.ok);
  assert.deepEqual(ra.payload, payload);
  assert.ok(rxBob.unprotect(C_L2, pc).ok);
  // Replay of the same PDU.
  assert.deepEqual(rxBob.unprotect(A_L2, pa), { ok: false, reason: 'replay', gskId: u.context.gskId });
  // Tampered PDU.
  const t = txA.protect(payload);
  t[20]! ^= 1;
  assert.equal((rxBob.unprotect(A_L2, t) as { reason: string }).reason, 'mac');
  // Spoofed sender L2 ID: another sender's PTK, MAC fails.
  assert.equal((rxBob.unprotect(C_L2, txA.protect(payload)) as { reason: string }).reason, 'mac');
  // Non-member listening: no GMK, so no GSK: the call-init and the media stay closed.
  const eve = member(EVE);
  assert.deepEqual(await receiveCallInit(eve.calls, init, eve.crypto, NOW), {
    ok: false,
    reason: 'unknown_key',
  });
  assert.equal(new GroupMediaReceiver(GROUP_L2).unprotect(A_L2, txA.protect(payload)).ok, false);
  // Removal of Carol: rekey, the new GMK goes to Alice and Bob only.
  const ev = d.removeMember(CAROL, NOW + 100);
  assert.equal(ev[0]?.type, 'rekey');
  const msgs = await imessages(d, NOW + 100);
  assert.deepEqual([...msgs.keys()].sort(), [ALICE, BOB]);
  assert.deepEqual(d.jobs(NOW, [CAROL]), []);
  for (const m of [alice, bob])
    assert.ok((await receiveGmk(m.gmks, msgs.get(m.uri)!, m.crypto, NOW + 100)).ok);
  // Carol can't use Bob's I_MESSAGE either.
  assert.equal((await receiveGmk(carol.gmks, msgs.get(BOB)!, carol.crypto, NOW + 100)).ok, false);
  const u2 = prepareCallInit(alice.gmks.current(GROUP)!, ALICE, NOW + 200);
  const init2 = await signCallInit(u2, alice.crypto);
  assert.ok((await receiveCallInit(bob.calls, init2, bob.crypto, NOW + 200)).ok);
  assert.deepEqual(await receiveCallInit(carol.calls, init2, carol.crypto, NOW + 200), {
    ok: false,
    reason: 'unknown_key',
  });
  const rxCarol = new GroupMediaReceiver(GROUP_L2);
  rxCarol.addCall(u.context.gskId, u.context.gsk); // she still holds the old call's GSK
  const tx2 = new GroupMediaSender(u2.context.gsk, u2.context.gskId, A_L2, GROUP_L2);
  assert.equal((rxCarol.unprotect(A_L2, tx2.protect(payload)) as { reason: string }).reason, 'unknown_key');
  // A superseded GMK cannot start new calls: Bob retired it when the new one arrived.
  const old = await signCallInit(prepareCallInit(carol.gmks.current(GROUP)!, CAROL, NOW + 300), carol.crypto);
  assert.deepEqual(await receiveCallInit(bob.calls, old, bob.crypto, NOW + 300), {
    ok: false,
    reason: 'unknown_key',
  });
});

test('group media, TS 33.303 one-to-many profile (ciphering only): replay and non-members still fail, tampering flips plaintext bits undetected', () => {
  const gsk = new Uint8Array(32).fill(3);
  const A_L2 = 0x000101;
  const tx = new GroupMediaSender(gsk, 9, A_L2, GROUP_L2, TS33303_GROUP_MEDIA_ALGS);
  const rx = new GroupMediaReceiver(GROUP_L2, TS33303_GROUP_MEDIA_ALGS);
  rx.addCall(9, gsk);
  const payload = new Uint8Array(64).fill(7);
  const p = tx.protect(payload);
  // 7-octet media header + 5-octet protection header + payload, no MAC-I.
  assert.equal(p.length, 7 + 5 + 64);
  const r = rx.unprotect(A_L2, p.slice());
  assert.ok(r.ok);
  assert.deepEqual(r.payload, payload);
  assert.deepEqual(rx.unprotect(A_L2, p), { ok: false, reason: 'replay', gskId: 9 });
  const t = tx.protect(payload);
  t[20]! ^= 1;
  const rt = rx.unprotect(A_L2, t);
  assert.ok(rt.ok, 'without integrity the tampered PDU is accepted');
  assert.equal(rt.payload[20 - 12], 7 ^ 1, 'the flipped ciphertext bit flips the same plaintext bit');
  // A receiver expecting integrity rejects the ciphering-only PDU (no stripping of the MAC-I).
  const strict = new GroupMediaReceiver(GROUP_L2);
  strict.addCall(9, gsk);
  assert.equal((strict.unprotect(A_L2, tx.protect(payload)) as { reason: string }).reason, 'policy');
  assert.equal(
    new GroupMediaReceiver(GROUP_L2, TS33303_GROUP_MEDIA_ALGS).unprotect(A_L2, tx.protect(payload)).ok,
    false,
  );
});

test('group media, AES-128-GCM option: opens with an independent GCM (@noble/ciphers), tampering, replay, wrong sender and mixed profiles are rejected', () => {
  const gsk = new Uint8Array(32).fill(5);
  const A_L2 = 0x000102;
  const tx = new GroupMediaSender(gsk, 11, A_L2, GROUP_L2, AES_GCM_GROUP_MEDIA_ALGS);
  const rx = new GroupMediaReceiver(GROUP_L2, AES_GCM_GROUP_MEDIA_ALGS);
  rx.addCall(11, gsk);
  const payload = new Uint8Array(100).map((_, i) => i);
  const p = tx.protect(payload);
  // version 2 | GSK-ID | PTK-ID | COUNT | ciphertext | 16-octet tag.
  assert.equal(p[0], GROUP_MEDIA_VERSION_GCM);
  assert.equal(p.length, 7 + 4 + 100 + 16);
  // Independent implementation: the same key schedule, noble's AES-GCM, nonce = 0^8 || COUNT, AAD = COUNT.
  const ptk = derivePtk(gsk, Uint8Array.of(0, 1, 2), 1, Uint8Array.of(0x00, 0xa0, 0x01));
  const nonce = new Uint8Array(12);
  const body = p.subarray(7);
  assert.deepEqual(gcm(deriveAesGcmKey(ptk), nonce, body.subarray(0, 4)).decrypt(body.subarray(4)), payload);
  const r = rx.unprotect(A_L2, p.slice());
  assert.ok(r.ok);
  assert.deepEqual(r.payload, payload);
  assert.deepEqual(rx.unprotect(A_L2, p), { ok: false, reason: 'replay', gskId: 11 });
  const t = tx.protect(payload);
  t[30]! ^= 1;
  assert.equal((rx.unprotect(A_L2, t) as { reason: string }).reason, 'mac');
  const c = tx.protect(payload);
  c[8]! ^= 1; // COUNT is in the AAD (and the nonce)
  assert.equal((rx.unprotect(A_L2, c) as { reason: string }).reason, 'mac');
  assert.equal((rx.unprotect(0x000999, tx.protect(payload)) as { reason: string }).reason, 'mac');
  // A 128-NEA2/NIA2 receiver refuses GCM media and the other way round: no silent switch between profiles.
  const nea = new GroupMediaReceiver(GROUP_L2);
  nea.addCall(11, gsk);
  assert.equal((nea.unprotect(A_L2, tx.protect(payload)) as { reason: string }).reason, 'policy');
  const neaTx = new GroupMediaSender(gsk, 11, A_L2, GROUP_L2);
  assert.equal((rx.unprotect(A_L2, neaTx.protect(payload)) as { reason: string }).reason, 'policy');
});

test('packed mode: co-hosted members share identical ECCSI verifications, keyed by every public input', async () => {
  let calls = 0;
  const base = {
    encapsulate: async () => new Uint8Array(0),
    decapsulate: async () => undefined,
    sign: async () => new Uint8Array(0),
    verify: async (m: Uint8Array) => {
      calls++;
      return m[0] === 1;
    },
  };
  const kpak = Uint8Array.of(4, 4);
  const a = shareVerifications(base, kpak);
  const b = shareVerifications(base, kpak);
  const msg = Uint8Array.of(1, 2);
  const sig = Uint8Array.of(9);
  const id = Uint8Array.of(7);
  assert.equal(await a.verify(msg, sig, id), true);
  assert.equal(await b.verify(msg, sig, id), true);
  assert.equal(calls, 1, 'the second member reuses the first verdict');
  // Any differing input is a new verification: message, signature, signer, KPAK.
  assert.equal(await a.verify(Uint8Array.of(0, 2), sig, id), false);
  await a.verify(msg, Uint8Array.of(8), id);
  await a.verify(msg, sig, Uint8Array.of(6));
  await shareVerifications(base, Uint8Array.of(4, 5)).verify(msg, sig, id);
  assert.equal(calls, 5);
  // Length framing: (01 02 | 09) and (01 | 02 09) are different inputs.
  await a.verify(Uint8Array.of(1), Uint8Array.of(2, 9), id);
  assert.equal(calls, 6);
});
