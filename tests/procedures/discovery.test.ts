import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { fromHex, toHex } from '../../crypto-core/bytes.js';
import { eccsiGenerateKmsKeys, eccsiIssueSsk } from '../../crypto-core/rfc6507-eccsi.js';
import {
  DiscoveryRequester,
  DiscoveryResponder,
  discoveryIdKey,
  verifyMatchReport,
} from '../../procedures/discovery/discovery-request-response.js';
import { RotatingL2Id } from '../../procedures/discovery/l2-rotation.js';
import { LinkabilityObserver } from '../../procedures/discovery/linkability.js';
import { decodeDiscovery, encodeDiscovery, timeSlot } from '../../procedures/discovery/messages.js';
import {
  eccsiSigner,
  eccsiVerifier,
  ecdsaSigner,
  ecdsaVerifier,
  OpenAnnouncer,
  OpenMonitor,
} from '../../procedures/discovery/open-discovery.js';
import { RegistrationThrottle } from '../../procedures/discovery/registration-throttle.js';
import {
  type MonitorEntry,
  RestrictedAnnouncer,
  RestrictedMonitor,
  type RestrictedOption,
} from '../../procedures/discovery/restricted-discovery.js';

const SLOT = 1000;
const T0 = 1_800_000_000_000;

function code(): { code: Uint8Array; key: Uint8Array } {
  return { code: randomBytes(8), key: randomBytes(32) };
}

function flipLast(b: Uint8Array, fromEnd: number): Uint8Array {
  const c = Uint8Array.from(b);
  c[c.length - fromEnd]! ^= 0x01;
  return c;
}

for (const option of ['nonce', 'time-slot'] as RestrictedOption[]) {
  test(`restricted discovery (${option}): a permitted monitor matches, the over-the-air ID changes every announcement`, () => {
    const mary = code();
    const other = code();
    const ann = new RestrictedAnnouncer(mary, { option, slotMs: SLOT });
    const mon = new RestrictedMonitor({ slotMs: SLOT });
    mon.setEntries([
      { ...other, owner: 'peter' },
      { ...mary, owner: 'mary' },
    ]);
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const now = T0 + i * SLOT;
      const p = ann.announce(now, new TextEncoder().encode('meta'))!;
      const d = decodeDiscovery(p);
      assert.ok(d.kind === 'restricted_nonce' || d.kind === 'restricted_slot');
      ids.add(toHex(d.rotatingId));
      assert.ok(!toHex(p).includes(toHex(mary.code)), 'the code itself never goes on the air');
      const ev = mon.receive(p, now + 10);
      assert.equal(ev.type, 'match');
      assert.equal(ev.type === 'match' && ev.owner, 'mary');
    }
    assert.equal(ids.size, 5);
  });

  test(`restricted discovery (${option}): rejects unknown, bad MIC, replay and malformed input`, () => {
    const mary = code();
    const ann = new RestrictedAnnouncer(mary, { option, slotMs: SLOT });
    const mon = new RestrictedMonitor({ slotMs: SLOT });
    mon.setEntries([{ ...mary, owner: 'mary' }]);
    const stranger = new RestrictedMonitor({ slotMs: SLOT });
    stranger.setEntries([{ ...code(), owner: 'someone' }]);
    const p = ann.announce(T0, Uint8Array.of(1, 2, 3))!;
    assert.deepEqual(stranger.receive(p, T0), { type: 'rejected', cause: 'unknown' });
    // Tampered metadata (one bit) with the ID intact: the discovery MIC fails.
    const tampered = Uint8Array.from(p);
    tampered[tampered.length - 5]! ^= 0x80; // last metadata octet
    assert.deepEqual(mon.receive(tampered, T0), { type: 'rejected', cause: 'bad_mic' });
    assert.deepEqual(mon.receive(flipLast(p, 1), T0), { type: 'rejected', cause: 'bad_mic' });
    assert.equal(mon.receive(p, T0).type, 'match');
    assert.deepEqual(mon.receive(p, T0), { type: 'rejected', cause: 'replay' });
    assert.deepEqual(mon.receive(p.subarray(0, 10), T0), { type: 'rejected', cause: 'malformed' });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (junk) => {
        const ev = mon.receive(junk, T0);
        assert.equal(ev.type, 'rejected');
      }),
      { numRuns: 300 },
    );
  });
}

test('restricted discovery (time-slot): an announcement from an old slot is stale, one per slot', () => {
  const mary = code();
  const ann = new RestrictedAnnouncer(mary, { option: 'time-slot', slotMs: SLOT });
  const mon = new RestrictedMonitor({ slotMs: SLOT });
  mon.setEntries([{ ...mary, owner: 'mary' }]);
  const p = ann.announce(T0)!;
  assert.equal(ann.announce(T0 + 10), undefined, 'a second announcement in the same slot is not produced');
  // Recorded, replayed 3 slots later.
  assert.equal(mon.receive(ann.announce(T0 + 3 * SLOT)!, T0 + 3 * SLOT).type, 'match');
  assert.deepEqual(mon.receive(p, T0 + 3 * SLOT), { type: 'rejected', cause: 'stale' });
  // Within the ±1 slot clock-skew tolerance it still matches.
  const q = ann.announce(T0 + 4 * SLOT)!;
  assert.equal(mon.receive(q, T0 + 5 * SLOT + 1).type, 'match');
});

test('restricted discovery: option 2 precomputes per slot (receiver cost independent of announcements)', () => {
  const entries: MonitorEntry[] = Array.from({ length: 50 }, (_, i) => ({ ...code(), owner: `u${i}` }));
  const target = entries[49]!;
  const m1 = new RestrictedMonitor({ slotMs: SLOT });
  const m2 = new RestrictedMonitor({ slotMs: SLOT });
  m1.setEntries(entries);
  m2.setEntries(entries);
  const a1 = new RestrictedAnnouncer(target, { option: 'nonce', slotMs: SLOT });
  const a2 = new RestrictedAnnouncer(target, { option: 'time-slot', slotMs: SLOT });
  for (let i = 0; i < 10; i++) {
    assert.equal(m1.receive(a1.announce(T0)!, T0).type, 'match');
  }
  assert.equal(m1.hmacs, 500, 'option 1: one HMAC per watched code per announcement (last entry)');
  assert.equal(m2.receive(a2.announce(T0)!, T0).type, 'match');
  assert.equal(m2.hmacs, 350, 'option 2: tables of 7 slots (3 accepted, 4 of stale history) x 50 codes');
  const next = a2.announce(T0 + SLOT)!;
  assert.equal(m2.receive(next, T0 + SLOT).type, 'match');
  for (let i = 0; i < 9; i++) assert.equal(m2.receive(next, T0 + SLOT).type, 'rejected'); // replays
  assert.equal(m2.hmacs, 400, 'then one new slot table (50 HMACs) per slot, whatever the announcements');
});

test('ProSe Function permissions: Mary permits John, John permits Peter, Mary does not see Peter; unfriend', async () => {
  const { DiscoveryAllocator } = await import('../../nodes/roles/prose-function-discovery.js');
  const pf = new DiscoveryAllocator({
    applicationId: 'chat',
    option: 'nonce',
    slotMs: SLOT,
    users: [
      { ueId: 'ue-1', aluid: 'mary', permits: ['john', 'ann'] },
      { ueId: 'ue-2', aluid: 'john', permits: ['peter'] },
      { ueId: 'ue-3', aluid: 'peter', permits: [] },
      { ueId: 'ue-4', aluid: 'ann', permits: [] },
    ],
  });
  const pk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
    type: 'spki',
    format: 'pem',
  });
  // Key issue #2.6: ue-3 cannot register Mary's ALUID.
  const bad = pf.register('ue-3', 'mary', 'chat', String(pk));
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.cause, 'aluid_mismatch');
  assert.equal(pf.register('ue-1', 'mary', 'other-app', String(pk)).ok, false);
  const alloc = new Map<string, NonNullable<ReturnType<typeof pf.allocationFor>>>();
  for (const [ue, al] of [
    ['ue-1', 'mary'],
    ['ue-2', 'john'],
    ['ue-3', 'peter'],
    ['ue-4', 'ann'],
  ] as const) {
    const r = pf.register(ue, al, 'chat', String(pk));
    assert.ok(r.ok);
  }
  for (const ue of ['ue-1', 'ue-2', 'ue-3', 'ue-4']) alloc.set(ue, pf.allocationFor(ue)!);
  const sees = (ue: string) =>
    alloc
      .get(ue)!
      .monitor.restricted.map((e) => e.aluid)
      .sort();
  assert.deepEqual(sees('ue-2'), ['mary']); // John sees Mary
  assert.deepEqual(sees('ue-3'), ['john']); // Peter sees John, not Mary
  assert.deepEqual(sees('ue-1'), []); // Mary does not see Peter (nor John)
  assert.deepEqual(sees('ue-4'), ['mary']);

  // Run the crypto: monitors built from the allocations.
  const monitorOf = (ue: string) => {
    const m = new RestrictedMonitor({ slotMs: SLOT });
    m.setEntries(
      alloc
        .get(ue)!
        .monitor.restricted.map((e) => ({ owner: e.aluid, code: fromHex(e.code), key: fromHex(e.key) })),
    );
    return m;
  };
  const announcerOf = (ue: string) => {
    const a = alloc.get(ue)!.announce.restricted;
    return new RestrictedAnnouncer(
      { code: fromHex(a.code), key: fromHex(a.key) },
      { option: 'nonce', slotMs: SLOT },
    );
  };
  const johnMon = monitorOf('ue-2');
  const peterMon = monitorOf('ue-3');
  const annMon = monitorOf('ue-4');
  assert.equal(johnMon.receive(announcerOf('ue-1').announce(T0)!, T0).type, 'match');
  assert.equal(peterMon.receive(announcerOf('ue-1').announce(T0)!, T0).type, 'rejected');
  assert.equal(monitorOf('ue-1').receive(announcerOf('ue-3').announce(T0)!, T0).type, 'rejected');

  // Mary unfriends John: new code/key to Mary and the remaining permitted set (Ann), and John is told too.
  const affected = pf.revoke('mary', 'john').sort();
  assert.deepEqual(affected, ['ue-1', 'ue-2', 'ue-4']);
  const old = alloc.get('ue-2')!;
  for (const ue of affected) alloc.set(ue, pf.allocationFor(ue)!);
  assert.notEqual(alloc.get('ue-1')!.announce.restricted.key, old.monitor.restricted[0]!.key);
  assert.deepEqual(sees('ue-2'), []);
  const maryNew = announcerOf('ue-1');
  // John keeps his old key (a misbehaving UE ignoring the update): it no longer matches.
  assert.deepEqual(johnMon.receive(maryNew.announce(T0)!, T0), { type: 'rejected', cause: 'unknown' });
  // Ann, with the old key, fails too; with the pushed allocation she matches again.
  assert.equal(annMon.receive(maryNew.announce(T0)!, T0).type, 'rejected');
  assert.equal(monitorOf('ue-4').receive(maryNew.announce(T0)!, T0).type, 'match');
  assert.deepEqual(pf.revoke('mary', 'john'), [], 'revoking twice changes nothing');
});

for (const alg of ['ecdsa-p256', 'eccsi'] as const) {
  test(`open discovery (${alg}): signed with the time slot; stale, replayed, forged and unknown are rejected`, () => {
    const codeBytes = randomBytes(8);
    let signer: ReturnType<typeof ecdsaSigner>;
    let verifier: ReturnType<typeof ecdsaVerifier>;
    let wrongVerifier: ReturnType<typeof ecdsaVerifier>;
    if (alg === 'ecdsa-p256') {
      const kp = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      signer = ecdsaSigner(kp.privateKey);
      verifier = ecdsaVerifier(kp.publicKey);
      wrongVerifier = ecdsaVerifier(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
    } else {
      const kms = eccsiGenerateKmsKeys();
      const ssk = eccsiIssueSsk(kms.KSAK, kms.KPAK, codeBytes);
      signer = eccsiSigner({ id: codeBytes, ssk: ssk.SSK, pvt: ssk.PVT, kpak: kms.KPAK });
      verifier = eccsiVerifier({ id: codeBytes, kpak: kms.KPAK });
      wrongVerifier = eccsiVerifier({ id: codeBytes, kpak: eccsiGenerateKmsKeys().KPAK });
    }
    const ann = new OpenAnnouncer(codeBytes, signer, { slotMs: SLOT });
    const mon = new OpenMonitor({ slotMs: SLOT });
    mon.setEntries([{ owner: 'mary', code: codeBytes, verifier }]);
    const p = ann.announce(T0);
    assert.deepEqual(mon.receive(p, T0 + 100), { type: 'match', owner: 'mary', code: codeBytes });
    assert.deepEqual(mon.receive(p, T0 + 100), { type: 'rejected', cause: 'replay' });
    assert.deepEqual(mon.receive(ann.announce(T0), T0 + 5 * SLOT), { type: 'rejected', cause: 'stale' });
    // Forgery: change the slot (to make an old announcement look fresh) without re-signing.
    const d = decodeDiscovery(ann.announce(T0));
    assert.equal(d.kind, 'open');
    if (d.kind === 'open') {
      const forged = encodeDiscovery({ ...d, slot: timeSlot(T0 + 3 * SLOT, SLOT) });
      assert.deepEqual(mon.receive(forged, T0 + 3 * SLOT), { type: 'rejected', cause: 'bad_signature' });
    }
    const wrong = new OpenMonitor({ slotMs: SLOT });
    wrong.setEntries([{ owner: 'mary', code: codeBytes, verifier: wrongVerifier }]);
    assert.deepEqual(wrong.receive(ann.announce(T0), T0), { type: 'rejected', cause: 'bad_signature' });
    const none = new OpenMonitor({ slotMs: SLOT });
    assert.deepEqual(none.receive(p, T0), { type: 'rejected', cause: 'unknown' });
    assert.deepEqual(mon.receive(p.subarray(0, p.length - 1), T0), { type: 'rejected', cause: 'malformed' });
  });
}

test('discovery request/response (mic, verified locally): match; bad MIC, replayed request and response, stale', () => {
  const mary = code();
  const req = new DiscoveryRequester({ mode: 'mic', slotMs: SLOT });
  const resp = new DiscoveryResponder({ mode: 'mic', slotMs: SLOT, own: mary });
  const q = req.request({ owner: 'mary', ...mary }, T0);
  const r = resp.receive(q, T0 + 5);
  assert.equal(r.type, 'respond');
  if (r.type !== 'respond') return;
  assert.deepEqual(resp.receive(q, T0 + 6), { type: 'rejected', cause: 'replay' });
  assert.deepEqual(req.receive(flipLast(r.payload, 1), T0 + 10), { type: 'rejected', cause: 'bad_mic' });
  assert.deepEqual(req.receive(r.payload, T0 + 10), { type: 'match', owner: 'mary' });
  assert.deepEqual(req.receive(r.payload, T0 + 11), { type: 'rejected', cause: 'replay' });
  // A request recorded and replayed later: stale.
  const q2 = req.request({ owner: 'mary', ...mary }, T0);
  assert.deepEqual(resp.receive(q2, T0 + 3 * SLOT), { type: 'rejected', cause: 'stale' });
  // A request for someone else's code: unknown to this responder.
  const q3 = req.request({ owner: 'x', ...code() }, T0);
  assert.deepEqual(resp.receive(q3, T0), { type: 'rejected', cause: 'unknown' });
  // A response nobody asked for.
  const other = new DiscoveryRequester({ mode: 'mic', slotMs: SLOT });
  assert.deepEqual(other.receive(r.payload, T0), { type: 'rejected', cause: 'unknown' });
});

test('discovery request/response (mic, ProSe Function in the loop): the PF checks the MIC of the match report', () => {
  const mary = code();
  const req = new DiscoveryRequester({ mode: 'mic', slotMs: SLOT, verifyAt: 'prose-function' });
  const resp = new DiscoveryResponder({ mode: 'mic', slotMs: SLOT, own: mary });
  const q = req.request({ owner: 'mary', code: mary.code, idKey: discoveryIdKey(mary) }, T0);
  const r = resp.receive(q, T0);
  assert.equal(r.type, 'respond');
  if (r.type !== 'respond') return;
  const tampered = flipLast(r.payload, 1);
  const ev = req.receive(tampered, T0);
  assert.equal(ev.type, 'match_report', 'without the MIC key the UE cannot tell: it reports');
  if (ev.type !== 'match_report') return;
  assert.deepEqual(verifyMatchReport(mary, ev.requestNonce, ev.response, T0, SLOT), {
    ok: false,
    cause: 'bad_mic',
  });
  const q2 = req.request({ owner: 'mary', code: mary.code, idKey: discoveryIdKey(mary) }, T0);
  const r2 = resp.receive(q2, T0);
  if (r2.type !== 'respond') return assert.fail('no response');
  const ev2 = req.receive(r2.payload, T0);
  if (ev2.type !== 'match_report') return assert.fail('no report');
  assert.deepEqual(verifyMatchReport(mary, ev2.requestNonce, ev2.response, T0, SLOT), { ok: true });
  assert.deepEqual(verifyMatchReport(mary, ev2.requestNonce, ev2.response, T0 + 5 * SLOT, SLOT), {
    ok: false,
    cause: 'stale',
  });
  assert.equal(verifyMatchReport(code(), ev2.requestNonce, ev2.response, T0, SLOT).ok, false);
});

test('discovery request/response (signature): both sides signed; unknown requester, forged response rejected', () => {
  const kA = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kB = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const codeA = randomBytes(8);
  const codeB = randomBytes(8);
  const req = new DiscoveryRequester({
    mode: 'signature',
    slotMs: SLOT,
    ownCode: codeA,
    signer: ecdsaSigner(kA.privateKey),
  });
  const resp = new DiscoveryResponder({
    mode: 'signature',
    slotMs: SLOT,
    ownCode: codeB,
    signer: ecdsaSigner(kB.privateKey),
    requesters: new Map([[toHex(codeA), { owner: 'john', verifier: ecdsaVerifier(kA.publicKey) }]]),
  });
  const target = { owner: 'mary', code: codeB, verifier: ecdsaVerifier(kB.publicKey) };
  const q = req.request(target, T0);
  const r = resp.receive(q, T0);
  assert.equal(r.type, 'respond');
  if (r.type !== 'respond') return;
  assert.equal(r.requester, 'john');
  assert.deepEqual(resp.receive(q, T0), { type: 'rejected', cause: 'replay' });
  assert.deepEqual(resp.receive(flipLast(req.request(target, T0), 1), T0), {
    type: 'rejected',
    cause: 'bad_signature',
  });
  assert.deepEqual(req.receive(flipLast(r.payload, 1), T0), { type: 'rejected', cause: 'bad_signature' });
  assert.deepEqual(req.receive(r.payload, T0), { type: 'match', owner: 'mary' });
  const stranger = new DiscoveryRequester({
    mode: 'signature',
    slotMs: SLOT,
    ownCode: randomBytes(8),
    signer: ecdsaSigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey),
  });
  assert.deepEqual(resp.receive(stranger.request(target, T0), T0), { type: 'rejected', cause: 'unknown' });
});

test('registration throttle: burst, refill, failure penalty, ban, bounded source table', () => {
  const t = new RegistrationThrottle({
    ratePerSecond: 2,
    burst: 3,
    failurePenalty: 2,
    banAfterRefusals: 5,
    banMs: 1000,
    maxSources: 10,
  });
  for (let i = 0; i < 3; i++) assert.ok(t.admit('a', T0).ok);
  assert.deepEqual(t.admit('a', T0), { ok: false, cause: 'rate_limited' });
  assert.ok(t.admit('a', T0 + 500).ok, 'one token back after 0.5 s at 2/s');
  assert.ok(t.admit('b', T0).ok);
  assert.ok(t.admit('b', T0).ok);
  t.penalize('b', T0);
  assert.equal(t.admit('b', T0).ok, false, 'a failing source drains faster (one token would be left)');
  for (let i = 0; i < 3; i++) t.admit('b', T0);
  assert.deepEqual(t.admit('b', T0), { ok: false, cause: 'banned' });
  assert.deepEqual(t.admit('b', T0 + 900), { ok: false, cause: 'banned' });
  assert.ok(t.admit('b', T0 + 3000).ok, 'ban over, bucket refilled');
  for (let i = 0; i < 100; i++) t.admit(`s${i}`, T0);
  assert.equal(t.sources, 10);
  assert.equal(t.evicted, 92);
});

test('linkability: a passive observer links every static-ID announcement and none with rotating IDs', () => {
  const users = Array.from({ length: 5 }, () => code());
  for (const option of ['nonce', 'time-slot'] as const) {
    const obs = new LinkabilityObserver();
    const anns = users.map((u) => new RestrictedAnnouncer(u, { option, slotMs: SLOT }));
    for (let i = 0; i < 20; i++) {
      for (const [j, a] of anns.entries()) obs.observe(`u${j}`, a.announce(T0 + i * SLOT)!);
    }
    assert.equal(obs.linkable, 95);
    assert.equal(obs.linkRate, 0);
  }
  const staticObs = new LinkabilityObserver();
  users.forEach((_u, j) => {
    const fixed = encodeDiscovery({
      kind: 'restricted_nonce',
      fresh: new Uint8Array(8),
      rotatingId: new Uint8Array(16).fill(j + 1),
      meta: new Uint8Array(0),
      mic: new Uint8Array(4),
    });
    for (let i = 0; i < 20; i++) staticObs.observe(`u${j}`, fixed);
  });
  assert.equal(staticObs.linkRate, 1);
});

test('L2 ID rotation: an observer linking by the PC5 source L2 ID links every announcement of a fixed L2 ID and none when it rotates with the over-the-air ID', () => {
  const users = Array.from({ length: 5 }, () => code());
  const anns = users.map((u) => new RestrictedAnnouncer(u, { option: 'time-slot', slotMs: SLOT }));
  const rot = users.map(() => new RotatingL2Id());
  const rotating = new LinkabilityObserver();
  const fixed = new LinkabilityObserver();
  for (let i = 0; i < 20; i++) {
    for (const [j, a] of anns.entries()) {
      const p = a.announce(T0 + i * SLOT)!;
      rotating.observe(`u${j}`, p, rot[j]!.idFor(`slot${i}`));
      fixed.observe(`u${j}`, p, 0x1000 + j);
    }
  }
  assert.equal(fixed.l2LinkRate, 1);
  assert.equal(rotating.l2LinkRate, 0);
  assert.equal(rotating.linkRate, 0);
  // Same epoch, same ID; a new epoch never reuses the previous ID; 0 and broadcast are never chosen.
  const r = new RotatingL2Id();
  const a = r.idFor('e1');
  assert.equal(r.idFor('e1'), a);
  assert.notEqual(r.idFor('e2'), a);
  const seq = [7, 7, 7, 9];
  const forced = new RotatingL2Id(() => seq.shift()!);
  assert.equal(forced.idFor('x'), 7);
  assert.equal(forced.idFor('y'), 9, 'a repeat of the previous ID is drawn again');
  for (let i = 0; i < 1000; i++) {
    const id = r.idFor(`k${i}`);
    assert.ok(id > 0 && id < 0xffffff);
  }
});
