// The threat matrix's INSECURE control knobs (docs/threat-matrix.md) at procedure level: each switches off exactly
// its defence, and the default keeps it on. A control that does not weaken anything would make a matrix row pass
// against a defence that never ran; a default that weakens would be a vulnerability.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { SqnArray } from '../../crypto-core/aka-sqn.js';
import { fromHex } from '../../crypto-core/bytes.js';
import { generateKmsMasterKeys, issueBundle } from '../../crypto-core/kms-bundle.js';
import { Milenage } from '../../crypto-core/milenage.js';
import { identityFor } from '../../crypto-core/rfc6509-identity.js';
import { downgradeRequest, relayedDsmc } from '../../nodes/adversary/link-downgrade.js';
import { type RogueRelayTamper, tamperChallenge } from '../../nodes/adversary/rogue-relay.js';
import {
  attachProseFunctionDiscovery,
  DEFAULT_THROTTLE,
} from '../../nodes/roles/prose-function-discovery.js';
import { GroupKeyService } from '../../nodes/roles/prose-function-group-keys.js';
import { createNodeMetrics } from '../../nodes/runtime/metrics.js';
import type { DirectLinkInsecure, DirectLinkOutput } from '../../procedures/direct-link/direct-link.js';
import { decodeDiscovery, encodeDiscovery, signedPart } from '../../procedures/discovery/messages.js';
import {
  ecdsaSigner,
  ecdsaVerifier,
  OpenAnnouncer,
  OpenMonitor,
} from '../../procedures/discovery/open-discovery.js';
import { EapAkaPrimePeer } from '../../procedures/eap/eap-aka-prime-peer.js';
import { EapAkaPrimeServer } from '../../procedures/eap/eap-aka-prime-server.js';
import { EAP_CODE, encodeEap } from '../../procedures/eap/eap-codec.js';
import { Hss } from '../../procedures/eap/hss.js';
import {
  GmkDistributor,
  GmkReceiver,
  groupIdentityUri,
  newGmkId,
} from '../../procedures/group/gmk-distribution.js';
import { GroupCallReceiver, prepareCallInit } from '../../procedures/group/group-call.js';
import {
  deliverGmk,
  inlineGroupCrypto,
  receiveCallInit,
  receiveGmk,
  receiveGmkWithoutSignatureCheck,
  signCallInit,
} from '../../procedures/group/group-crypto.js';
import { makeMessage } from '../../transport/pc3/messages.js';
import type { Pc5Frame } from '../../transport/pc5/frame.js';
import { endpoint, FakeClock, pump, type Sent } from './direct-link-fixtures.js';

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

test('registration throttle: a flood from one identity and address is refused by default; throttle false (noRegistrationThrottle) admits all of it', async () => {
  const silent = { debug() {}, info() {}, warn() {}, error() {} } as never;
  const metrics = createNodeMetrics('prose-function', { processMetrics: false });
  const pf = (throttle: typeof DEFAULT_THROTTLE | false) => {
    let t = T0;
    const d = attachProseFunctionDiscovery({ throttle, metrics, log: silent, now: () => t });
    let served = 0;
    const handler = d.wrap(() => {
      served++;
      return { type: 'register_accept', body: {} } as never;
    });
    const peer = (nodeId: string, remoteAddress: string) => ({
      nodeId,
      role: 'ue',
      remoteAddress,
      remotePort: 1,
      serialNumber: '01',
    });
    // 300 connections + registrations in 3 s by ue-4 from 127.0.0.2; then one legitimate UE from 127.0.0.1.
    let connectionsCut = 0;
    let refused = 0;
    for (let i = 0; i < 300; i++) {
      t = T0 + i * 10;
      if (!d.admitConnection('127.0.0.2')) {
        connectionsCut++;
        continue;
      }
      const r = handler(makeMessage('register_request', 1, { ueId: 'ue-4' }), peer('ue-4', '127.0.0.2'));
      if ((r as { type: string }).type === 'register_reject') refused++;
    }
    const floodServed = served;
    const legitConnected = d.admitConnection('127.0.0.1');
    const legit = handler(makeMessage('register_request', 1, { ueId: 'ue-1' }), peer('ue-1', '127.0.0.1'));
    return { floodServed, connectionsCut, refused, legitConnected, legit: (legit as { type: string }).type };
  };
  const defended = pf(DEFAULT_THROTTLE);
  // At most the identity's burst plus its refill over 3 s (the address is cut off sooner).
  assert.ok(defended.floodServed >= 1 && defended.floodServed <= DEFAULT_THROTTLE.requestBurst + 6);
  assert.ok(defended.connectionsCut > 250, `${defended.connectionsCut} connections cut before TLS`);
  assert.ok(defended.refused > 0);
  assert.equal(defended.legitConnected, true);
  assert.equal(defended.legit, 'register_accept');
  const control = pf(false);
  assert.deepEqual(control, {
    floodServed: 300,
    connectionsCut: 0,
    refused: 0,
    legitConnected: true,
    legit: 'register_accept',
  });
});

test('GMK distribution: a forged I_MESSAGE (chosen all-zero GMK, signed with another identity’s key) is `signature` by default; skipGmkSignatureCheck installs it, reported unverified', async () => {
  const kms = generateKmsMasterKeys('kms.test.prosec');
  const at = new Date(T0);
  const bundle = (uri: string) => issueBundle(kms, identityFor(uri, at), at);
  const bob = 'prose-ue:bob';
  const groupUri = groupIdentityUri('charlie');
  const bobCrypto = inlineGroupCrypto(bundle(bob));
  const imessage = async (signerUri: string, gmk: Uint8Array) => {
    const d = new GmkDistributor({ groupId: 'charlie', groupUri, kmsUri: kms.kmsUri, periodMs: 3_600_000 });
    const record = { ...d.rotate(T0, 'initial').record, gmk };
    const job = { memberUri: bob, identity: identityFor(bob, at), ssv: gmk, record };
    return deliverGmk(d, job, inlineGroupCrypto(bundle(signerUri)), T0);
  };
  const receiver = () => new GmkReceiver({ selfUri: bob, trustedSigner: (g) => groupIdentityUri(g) });
  const zero = new Uint8Array(16);
  const forged = await imessage('prose-ue:mallory', zero);
  assert.deepEqual(await receiveGmk(receiver(), forged, bobCrypto, T0 + 10), {
    ok: false,
    reason: 'signature',
  });
  const control = await receiveGmkWithoutSignatureCheck(receiver(), forged, bobCrypto, T0 + 10);
  assert.ok(control.ok);
  assert.equal(control.signatureValid, false);
  assert.deepEqual(control.record.gmk, zero);
  // The genuine group manager's I_MESSAGE verifies under both; the control still runs every other check.
  const genuine = await imessage(groupUri, randomBytes(16));
  assert.ok((await receiveGmk(receiver(), genuine, bobCrypto, T0 + 10)).ok);
  const r = await receiveGmkWithoutSignatureCheck(receiver(), genuine, bobCrypto, T0 + 10);
  assert.ok(r.ok && r.signatureValid === true);
  const other = new GmkReceiver({ selfUri: 'prose-ue:carol', trustedSigner: (g) => groupIdentityUri(g) });
  assert.deepEqual(await receiveGmkWithoutSignatureCheck(other, forged, bobCrypto, T0 + 10), {
    ok: false,
    reason: 'wrong_recipient',
  });
});

// ---- one-to-one direct links: a man in the middle on set-up (threat-matrix rows link-downgrade, dsmc-replay) ----

/** The relayed signalling PDU as the adversary sees it (a PC5 frame around the direct link bytes). */
const asFrame = (bytes: Uint8Array): Pc5Frame => ({
  type: 'unicast_signalling',
  flags: 0,
  srcL2Id: 1,
  dstL2Id: 2,
  seq: 0,
  payload: bytes,
});
/** The adversary's rewrite (nodes/adversary/link-downgrade.ts) as a pump tap. */
const downgrade = (s: Sent) =>
  s.plane === 'signalling' ? downgradeRequest(asFrame(s.bytes))?.payload : undefined;
const establishedAt = (outs: { kind: string; at: string }[], at: string) =>
  outs.find((o) => o.kind === 'established' && o.at === at) as
    | (Extract<DirectLinkOutput, { kind: 'established' }> & { at: string })
    | undefined;

async function linkPair(insecure: DirectLinkInsecure) {
  const clock = new FakeClock();
  const over = Object.keys(insecure).length ? { insecure } : {};
  const A = await endpoint('mary', over, clock);
  const B = await endpoint('john', over, clock);
  return { A, B, eps: { mary: A, john: B } };
}

test('direct link bidding down: a rewritten Supported_algs is refused by the KD signature and the echo check; only with both off does the link come up with NEA0/NIA1', async () => {
  const attempt = async (insecure: DirectLinkInsecure, attacked = true) => {
    const { A, B, eps } = await linkPair(insecure);
    const r = A.connect('john', 'john', 'certificate');
    const outs = pump(eps, 'mary', r.out, attacked ? downgrade : undefined);
    return { A, B, up: establishedAt(outs, 'mary') };
  };
  // Defaults: UE_2 checks UE_1's signature over the offer it received.
  const d = await attempt({});
  assert.equal(d.up, undefined);
  assert.equal(d.B.counters.rejected.signature, 1);
  assert.equal(d.A.counters.biddingDownAccepted, 0);
  // The echo check alone off: the signature still refuses it.
  const e = await attempt({ noEchoCheck: true });
  assert.equal(e.up, undefined);
  assert.equal(e.B.counters.rejected.signature, 1);
  // The transcript binding alone off: UE_2 goes ahead, UE_1's echo check refuses the DSMC.
  const t = await attempt({ noTranscriptBinding: true });
  assert.equal(t.up, undefined);
  assert.equal(t.B.counters.rejected.signature, undefined);
  assert.equal(t.A.counters.rejected.echo_mismatch, 1);
  // Both off: the attacker's algorithms, counted as bidding down by UE_1.
  const both = await attempt({ noEchoCheck: true, noTranscriptBinding: true });
  assert.deepEqual(both.up?.algs, { nea: 0, nia: 1 });
  assert.equal(both.A.counters.biddingDownAccepted, 1);
  // Without the attacker the knobs change nothing visible: the strongest algorithms, no bidding down.
  const clean = await attempt({ noEchoCheck: true, noTranscriptBinding: true }, false);
  assert.deepEqual(clean.up?.algs, { nea: 2, nia: 2 });
  assert.equal(clean.A.counters.biddingDownAccepted, 0);
});

test('direct link bidding down with the relay MSK KD (no signature): the echo check is the defence, noEchoCheck alone turns it off', async () => {
  for (const noEchoCheck of [false, true]) {
    const { A, B, eps } = await linkPair(noEchoCheck ? { noEchoCheck } : {});
    const msk = randomBytes(64);
    A.addRelayMsk(msk, 3);
    B.addRelayMsk(msk, 3);
    const outs = pump(eps, 'mary', A.connect('john', 'john', 'msk', 3).out, downgrade);
    if (noEchoCheck) {
      assert.deepEqual(establishedAt(outs, 'mary')?.algs, { nea: 0, nia: 1 });
      assert.equal(A.counters.biddingDownAccepted, 1);
    } else {
      assert.equal(establishedAt(outs, 'mary'), undefined);
      assert.equal(A.counters.rejected.echo_mismatch, 1);
    }
  }
});

test('DSMC replayed into a later re-key: `mac` by default (KD-sess bound to a fresh Nonce_1); reuseNonce1 accepts it and re-installs the old key set', async () => {
  const run = async (insecure: DirectLinkInsecure) => {
    const { A, B, eps } = await linkPair(insecure);
    const log: Sent[] = [];
    const { linkId, out } = A.connect('john', 'john', 'certificate');
    pump(eps, 'mary', out, undefined, log);
    const recorded = log.find((s) => s.peer === 'mary' && relayedDsmc(asFrame(s.bytes)))!;
    const oldDksi = relayedDsmc(asFrame(recorded.bytes))!.dksi;
    // During the first re-key the recorded DSMC names the key set in use: the DKSI check refuses it either way.
    const first = A.rekey(linkId);
    assert.deepEqual(
      A.receiveSignalling('john', recorded.bytes.slice()).map((o) => o.kind === 'rejected' && o.cause),
      ['wrong_dksi'],
    );
    pump(eps, 'mary', first);
    // Two more key sets (one re-key from each side): the recorded DKSI is neither active nor previous at Mary.
    pump(eps, 'john', B.rekey(B.linkIds()[0]!));
    const third = A.rekey(linkId);
    const r = A.receiveSignalling('john', recorded.bytes.slice());
    return { A, linkId, third, r, oldDksi, eps };
  };
  const d = await run({});
  assert.deepEqual(
    d.r.map((o) => o.kind === 'rejected' && o.cause),
    ['mac'],
  );
  assert.equal(d.A.counters.dsmcReplaysAccepted, 0);
  // The genuine DSMC still completes the re-key.
  const outs = pump(d.eps, 'mary', d.third);
  assert.equal(establishedAt(outs, 'mary')?.rekey, true);
  const c = await run({ reuseNonce1: true });
  assert.ok(c.r.some((o) => o.kind === 'established' && o.rekey));
  assert.equal(c.A.counters.dsmcReplaysAccepted, 1);
  assert.equal(c.A.counters.biddingDownAccepted, 0);
  assert.equal(c.A.describe(c.linkId)!.dksi, c.oldDksi, 'the old key set is back in use');
});

test('rogue relay: a challenge with a flipped AT_MAC bit is `bad_mac` by default; insecureSkipAtMac accepts it, counted; a flipped AT_AUTN bit fails at the USIM either way', () => {
  const IMSI = '001010000000001';
  const K = randomBytes(16).toString('hex');
  const OPC = randomBytes(16).toString('hex');
  /** One full authentication through a pass-through that lets the rogue relay rewrite what goes down to the peer. */
  const authenticate = (tamper: RogueRelayTamper | undefined, skipAtMac: boolean) => {
    const server = new EapAkaPrimeServer(
      { networkName: 'WLAN', requestIdentity: true },
      new Hss([{ imsi: IMSI, k: K, opc: OPC }]),
    );
    const peer = new EapAkaPrimePeer({
      permanentIdentity: `6${IMSI}@wlan.mnc001.mcc001.3gppnetwork.org`,
      usim: new Milenage(fromHex(K), fromHex(OPC)),
      sqn: new SqnArray(),
      ...(skipAtMac ? { insecureSkipAtMac: true } : {}),
    });
    const session = server.newSession(0);
    let tampered = 0;
    let up = peer.receive(encodeEap({ code: EAP_CODE.REQUEST, id: 7, type: 1, data: new Uint8Array(0) }));
    for (let i = 0; i < 8; i++) {
      assert.equal(up.kind, 'response');
      if (up.kind !== 'response') break;
      const s = session.receive(up.packet, 1);
      if (s.kind === 'drop') break;
      const t = s.kind === 'request' && tamper ? tamperChallenge(s.packet, tamper) : undefined;
      if (t) tampered++;
      const down = peer.receive(t ?? s.packet);
      if (s.kind !== 'request')
        return { server: s.kind, peer: down, tampered, bad: peer.badMacAccepted, peerObj: peer };
      up = down;
    }
    throw new Error('no outcome');
  };
  // No tampering: success, keys agree; the knob alone changes nothing.
  for (const skip of [false, true]) {
    const ok = authenticate(undefined, skip);
    assert.equal(ok.server, 'success');
    assert.equal(ok.peer.kind, 'success');
    assert.equal(ok.bad, 0);
  }
  // Defence: the tampered challenge is Client-Error bad_mac, the server fails, the peer gets no MSK.
  const d = authenticate('at_mac', false);
  assert.equal(d.tampered, 1);
  assert.equal(d.server, 'failure');
  assert.equal(d.peer.kind, 'failure');
  assert.equal(d.peerObj.lastError, 'bad_mac');
  assert.equal(d.bad, 0);
  // Control: the same tampered challenge is processed (counted); AT_MAC covers nothing the keys depend on, so the
  // AAA then accepts the peer's (genuine) RES and AT_MAC: the run completes with keys installed.
  const c = authenticate('at_mac', true);
  assert.equal(c.tampered, 1);
  assert.equal(c.bad, 1);
  assert.equal(c.server, 'success');
  assert.equal(c.peer.kind, 'success');
  // AT_AUTN: the USIM's MAC-A check refuses it whatever the knob (it is not the AT_MAC check).
  for (const skip of [false, true]) {
    const a = authenticate('at_autn', skip);
    assert.equal(a.tampered, 1);
    assert.equal(a.server, 'failure');
    assert.equal(a.peerObj.lastError, 'autn_mac_failure');
    assert.equal(a.bad, 0);
  }
  // Only a Challenge is tampered with; anything else (or garbage) is left alone.
  assert.equal(
    tamperChallenge(encodeEap({ code: EAP_CODE.REQUEST, id: 1, type: 1, data: new Uint8Array(0) }), 'at_mac'),
    undefined,
  );
  assert.equal(tamperChallenge(Uint8Array.of(1, 2, 0, 9, 50, 1, 0, 0, 11), 'at_mac'), undefined);
});
