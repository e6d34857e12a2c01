import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  type DirectLinkEndpoint,
  type DirectLinkOutput,
  DL_BEARER,
} from '../../procedures/direct-link/direct-link.js';
import { CertificateKdMethod, loadCertificateTrust } from '../../procedures/direct-link/kd-certificate.js';
import {
  DL_MSG,
  decodeMessage,
  decodePdu,
  encodeMessage,
  encodePdu,
} from '../../procedures/direct-link/messages.js';
import { createNodeCredentials, createTestbedCa } from '../../transport/pc3/pki.js';
import { endpoint, FakeClock, pki, pump, type Sent } from './direct-link-fixtures.js';

type Out = DirectLinkOutput & { at: string };

function established(outs: Out[], at: string) {
  return outs.find((o) => o.kind === 'established' && o.at === at) as
    | Extract<DirectLinkOutput, { kind: 'established' }>
    | undefined;
}

function linkOf(ep: DirectLinkEndpoint): number {
  const ids = ep.linkIds();
  assert.equal(ids.length, 1);
  return ids[0]!;
}

async function pair(a = 'mary', b = 'john', method: 'certificate' | 'identity' = 'certificate', over = {}) {
  const clock = new FakeClock();
  const A = await endpoint(a, over, clock);
  const B = await endpoint(b, over, clock);
  const eps = { [a]: A, [b]: B };
  const { linkId, out } = A.connect(b, b, method);
  const outs = pump(eps, a, out);
  return { A, B, eps, linkId, outs, clock };
}

function innerType(s: Sent): number | undefined {
  if (s.plane !== 'signalling') return undefined;
  const pdu = decodePdu(s.bytes);
  return pdu.protected ? (pdu.body[0]! & 0x40 ? undefined : pdu.body[5]) : pdu.body[0];
}

test('message codec: round trip, and malformed input is rejected with a typed error', () => {
  const m = {
    type: DL_MSG.DIRECT_COMMUNICATION_REQUEST,
    srcCid: 0x1234,
    nonce1: randomBytes(16),
    supportedAlgs: { nea: 0b1111, nia: 0b1110 },
    policy: { signallingCiphering: true, userPlaneCiphering: false, userPlaneIntegrity: true },
    kdMethod: 'certificate' as const,
    keyData: randomBytes(40),
    target: 'john',
  };
  const back = decodeMessage(encodeMessage(m));
  assert.deepEqual(
    { ...back, nonce1: [...back.nonce1!], keyData: [...back.keyData!] },
    {
      ...m,
      nonce1: [...m.nonce1],
      keyData: [...m.keyData],
    },
  );
  // A required IE missing, a fixed-length IE of the wrong length, an IE not allowed in the type.
  const noNonce = encodeMessage({ ...m, nonce1: undefined });
  assert.throws(() => decodeMessage(noNonce), { name: 'DirectLinkMessageError', code: 'missing_ie' });
  const bad = encodeMessage(m);
  bad[4] = 0;
  bad[5] = 15; // NONCE_1 length 15
  assert.throws(() => decodeMessage(bad), { code: 'malformed' });
  assert.throws(() => decodeMessage(encodeMessage({ ...m, cause: 1 })), { code: 'malformed' });
  assert.throws(() => decodePdu(Uint8Array.of(0x20, 0, 0, 1, 0, 1)), { code: 'bad_version' });
});

test('certificate KD: DCR -> DSMC -> Complete, both UEs D2D-Connected, protected data both ways', async () => {
  const { A, B, eps, linkId, outs } = await pair();
  const ea = established(outs, 'mary');
  const eb = established(outs, 'john');
  assert.ok(ea && eb, 'both sides established');
  assert.equal(ea.peerId, 'john');
  assert.equal(eb.peerId, 'mary');
  assert.equal(ea.method, 'certificate');
  assert.equal(A.state(linkId), 'D2D-Connected');
  const bLink = linkOf(B);
  assert.equal(B.state(bLink), 'D2D-Connected');
  // Connection identities: each side allocated its own, and knows the peer's.
  assert.equal(A.describe(linkId)!.peerCid, bLink);
  assert.equal(B.describe(bLink)!.peerCid, linkId);
  assert.equal(A.describe(linkId)!.dksi, B.describe(bLink)!.dksi);
  const payload = new TextEncoder().encode('hello john');
  const log: Sent[] = [];
  const got = pump(eps, 'mary', A.sendData(linkId, payload), undefined, log);
  const data = got.find((o) => o.kind === 'data') as Extract<DirectLinkOutput, { kind: 'data' }>;
  assert.deepEqual(data.payload, payload);
  // Ciphered on the air (user-plane ciphering on in the fixture policy).
  assert.equal(Buffer.from(log[0]!.bytes).includes(Buffer.from(payload)), false);
  const back = pump(eps, 'john', B.sendData(bLink, Uint8Array.of(1, 2, 3)));
  assert.deepEqual(
    (back.find((o) => o.kind === 'data') as { payload: Uint8Array }).payload,
    Uint8Array.of(1, 2, 3),
  );
  assert.equal(A.counters.protectedPackets.tx.user, 1);
  assert.equal(B.counters.protectedPackets.rx.user, 1);
});

test('IDENTITY KD (MIKEY-SAKKE I_MESSAGE, ECCSI-signed) establishes a link', async () => {
  const log: Sent[] = [];
  const clock = new FakeClock();
  const A = await endpoint('mary', {}, clock);
  const B = await endpoint('peter', {}, clock);
  const { out } = A.connect('peter', 'peter', 'identity');
  const outs = pump({ mary: A, peter: B }, 'mary', out, undefined, log);
  assert.equal(established(outs, 'mary')?.method, 'identity');
  assert.equal(established(outs, 'peter')?.peerId, 'mary');
  // The DCR's key-establishment data is an RFC 6509 I_MESSAGE: MIKEY version 1, data type 26 (SAKKE).
  const dcr = decodeMessage(decodePdu(log[0]!.bytes).body);
  assert.equal(dcr.keyData![0], 1);
  assert.equal(dcr.keyData![1], 26);
});

test('relay MSK KD: both UEs hold the MSK, the DCR names it by KSI_D2D', async () => {
  const clock = new FakeClock();
  const A = await endpoint('mary', {}, clock);
  const B = await endpoint('john', {}, clock);
  const msk = randomBytes(64);
  A.addRelayMsk(msk, 7);
  B.addRelayMsk(msk, 7);
  const { out } = A.connect('john', 'john', 'msk', 7);
  const outs = pump({ mary: A, john: B }, 'mary', out);
  assert.equal(established(outs, 'mary')?.method, 'msk');
  // A responder with a different MSK cannot answer (its DSMC fails the MAC-I check).
  const C = await endpoint('john', {}, clock);
  C.addRelayMsk(randomBytes(64), 7);
  const r2 = A.connect('john', 'john', 'msk', 7);
  const outs2 = pump({ mary: A, john: C }, 'mary', r2.out);
  assert.equal(established(outs2, 'mary'), undefined);
  assert.equal(A.counters.rejected.mac, 1);
});

test('a tampered DSMC is rejected (mac) and the link is not established', async () => {
  const clock = new FakeClock();
  const A = await endpoint('mary', {}, clock);
  const B = await endpoint('john', {}, clock);
  const msk = randomBytes(64);
  A.addRelayMsk(msk, 1);
  B.addRelayMsk(msk, 1);
  const { linkId, out } = A.connect('john', 'john', 'msk', 1);
  const outs = pump({ mary: A, john: B }, 'mary', out, (s) => {
    if (innerType(s) !== DL_MSG.DIRECT_SECURITY_MODE_COMMAND) return undefined;
    const t = s.bytes.slice();
    t[16]! ^= 0x01; // inside Nonce_2 (outer 3 + protection header 5 + type/cid 3 + IE header 3 + 2)
    return t;
  });
  assert.equal(established(outs, 'mary'), undefined);
  assert.equal(A.counters.rejected.mac, 1);
  assert.equal(A.counters.integrityFailures.signalling, 1);
  assert.notEqual(A.state(linkId), 'D2D-Connected');
});

test('a replayed DSMC is rejected (replay)', async () => {
  const log: Sent[] = [];
  const clock = new FakeClock();
  const A = await endpoint('mary', {}, clock);
  const B = await endpoint('john', {}, clock);
  const { linkId, out } = A.connect('john', 'john', 'certificate');
  pump({ mary: A, john: B }, 'mary', out, undefined, log);
  assert.equal(A.state(linkId), 'D2D-Connected');
  const dsmc = log.find((s) => innerType(s) === DL_MSG.DIRECT_SECURITY_MODE_COMMAND)!;
  const r = A.receiveSignalling('john', dsmc.bytes);
  assert.deepEqual(
    r.map((o) => o.kind === 'rejected' && o.cause),
    ['replay'],
  );
  assert.equal(A.counters.replaysDropped.signalling, 1);
  assert.equal(A.state(linkId), 'D2D-Connected');
});

test('removing an algorithm from Supported_algs is detected: echo_mismatch (MSK KD) or signature (certificate KD)', async () => {
  const strip = (s: Sent) => {
    if (innerType(s) !== DL_MSG.DIRECT_COMMUNICATION_REQUEST) return undefined;
    const pdu = decodePdu(s.bytes);
    const m = decodeMessage(pdu.body);
    m.supportedAlgs = { nea: m.supportedAlgs!.nea & ~0b0100, nia: m.supportedAlgs!.nia & ~0b0100 }; // drop NEA2/NIA2
    return encodePdu({ ...pdu, body: encodeMessage(m) });
  };
  const clock = new FakeClock();
  const A = await endpoint('mary', {}, clock);
  const B = await endpoint('john', {}, clock);
  const msk = randomBytes(64);
  A.addRelayMsk(msk, 2);
  B.addRelayMsk(msk, 2);
  const r = A.connect('john', 'john', 'msk', 2);
  const outs = pump({ mary: A, john: B }, 'mary', r.out, strip);
  assert.equal(established(outs, 'mary'), undefined);
  assert.equal(A.counters.rejected.echo_mismatch, 1);
  // Certificate KD: UE_1 signs Supported_algs in the DCR, so UE_2 already refuses it.
  const r2 = A.connect('john', 'john', 'certificate');
  const outs2 = pump({ mary: A, john: B }, 'mary', r2.out, strip);
  assert.equal(established(outs2, 'john'), undefined);
  assert.equal(B.counters.rejected.signature, 1);
});

test('wrong DKSI: a re-keying DSMC naming the key set in use, or a PDU naming an unknown key set', async () => {
  const { A, eps, linkId } = await pair();
  const active = A.describe(linkId)!.dksi!;
  const outs = pump(eps, 'mary', A.rekey(linkId), (s) => {
    if (innerType(s) !== DL_MSG.DIRECT_SECURITY_MODE_COMMAND) return undefined;
    const t = s.bytes.slice();
    t[3] = (t[3]! & 0xf0) | active; // the protected PDU starts after the 3-octet outer header
    return t;
  });
  assert.equal(established(outs, 'mary'), undefined);
  assert.equal(A.counters.rejected.wrong_dksi, 1);
  assert.equal(A.describe(linkId)!.dksi, active, 'old keys stay in use');
  // A user PDU naming a DKSI the link does not hold.
  const [send] = eps.john!.sendData(linkOf(eps.john!), Uint8Array.of(9));
  const bytes = (send as Sent).bytes.slice();
  bytes[2] = (bytes[2]! & 0xf0) | ((active + 5) & 0x0f);
  assert.equal((A.receiveData('john', bytes)[0] as { cause: string }).cause, 'wrong_dksi');
});

test('a revoked certificate is rejected (cert_revoked) as initiator and as responder, and the other side is told why', async () => {
  const clock = new FakeClock();
  const eve = await endpoint('eve', {}, clock);
  const john = await endpoint('john', {}, clock);
  const eps = { eve, john };
  // Eve (revoked) initiates: John refuses and answers a Direct Security Mode Reject with cause cert_revoked.
  const r = eve.connect('john', 'john', 'certificate');
  const outs = pump(eps, 'eve', r.out);
  assert.equal(established(outs, 'john'), undefined);
  assert.equal(john.counters.rejected.cert_revoked, 1);
  const eveFailed = outs.filter((o) => o.at === 'eve' && o.kind === 'failed');
  assert.deepEqual(
    eveFailed.map((o) => o.kind === 'failed' && [o.cause, o.peerCause]),
    [['rejected_by_peer', 'cert_revoked']],
  );
  assert.equal(eve.counters.rejected.rejected_by_peer, 1);
  assert.equal(eve.linkIds().length, 0, 'the refused set-up leaves nothing behind');
  // Nothing is left to time out.
  clock.t += 10_000;
  assert.deepEqual(eve.tick(), []);
  // John initiates to Eve: John finds her certificate revoked in the DSMC, fails, and tells Eve (who stops waiting).
  const r2 = john.connect('eve', 'eve', 'certificate');
  const outs2 = pump(eps, 'john', r2.out);
  assert.equal(established(outs2, 'john'), undefined);
  assert.equal(john.counters.rejected.cert_revoked, 2);
  assert.deepEqual(
    outs2.filter((o) => o.kind === 'failed').map((o) => o.kind === 'failed' && [o.at, o.cause, o.peerCause]),
    [
      ['john', 'cert_revoked', undefined],
      ['eve', 'rejected_by_peer', 'cert_revoked'],
    ],
  );
  clock.t += 10_000;
  assert.deepEqual([...eve.tick(), ...john.tick()], []);
});

test('IDENTITY KD requests are rate limited per peer before any SAKKE work, with a reject the initiator sees', async () => {
  const clock = new FakeClock();
  const mary = await endpoint('mary', {}, clock);
  const peter = await endpoint('peter', { identityKdRate: { perPeer: 2, total: 100 } }, clock);
  const eps = { mary, peter };
  const causes: (string | undefined)[] = [];
  for (let i = 0; i < 4; i++) {
    const r = mary.connect('peter', 'peter', 'identity');
    const outs = pump(eps, 'mary', r.out);
    const f = outs.find((o) => o.at === 'mary' && (o.kind === 'failed' || o.kind === 'established'));
    causes.push(f?.kind === 'failed' ? f.peerCause : f?.kind);
  }
  // Burst of 2 per peer, no time passes: the third and fourth are refused cheaply.
  assert.deepEqual(causes, ['established', 'established', 'rate_limited', 'rate_limited']);
  assert.equal(peter.counters.rejected.rate_limited, 2);
  // Tokens come back with time (2 per second).
  clock.t += 1000;
  const r = mary.connect('peter', 'peter', 'identity');
  assert.ok(established(pump(eps, 'mary', r.out), 'mary'));
});

test('a certificate from another CA is rejected (cert_invalid)', async () => {
  const other = await createTestbedCa({ name: 'not the testbed CA' });
  const fake = await createNodeCredentials(other, { nodeId: 'mary', role: 'ue' });
  const p = await pki();
  const clock = new FakeClock();
  const mallory = await endpoint('mary', {}, clock);
  const john = await endpoint('john', {}, clock);
  const impostor = await endpoint(
    'mary',
    {
      methods: {
        certificate: new CertificateKdMethod({
          ...fake,
          trust: await loadCertificateTrust(p.caCertPem, p.crlPem),
        }),
      },
    },
    clock,
  );
  const r = impostor.connect('john', 'john', 'certificate');
  const outs = pump({ mary: impostor, john }, 'mary', r.out);
  assert.equal(established(outs, 'john'), undefined);
  assert.equal(john.counters.rejected.cert_invalid, 1);
  assert.equal(mallory.counters.established, 0);
});

test('a replayed user-plane packet is dropped (replay), reordered ones are accepted', async () => {
  const { A, B, linkId } = await pair();
  const pkts = [0, 1, 2].map((i) => (A.sendData(linkId, Uint8Array.of(i))[0] as Sent).bytes);
  for (const i of [2, 0, 1]) assert.equal(B.receiveData('mary', pkts[i]!)[0]!.kind, 'data');
  assert.deepEqual(
    B.receiveData('mary', pkts[1]!).map((o) => o.kind === 'rejected' && o.cause),
    ['replay'],
  );
  assert.equal(B.counters.replaysDropped.user, 1);
});

test('counter wrap: automatic re-keying before the threshold, count_exhausted when re-keying cannot finish', async () => {
  const over = { rekeyThreshold: 50, countLimit: 80 };
  const { A, B, eps, linkId } = await pair('mary', 'john', 'certificate', over);
  const first = A.describe(linkId)!.dksi;
  let received = 0;
  for (let i = 0; i < 200; i++) {
    const outs = pump(eps, 'mary', A.sendData(linkId, Uint8Array.of(i)));
    received += outs.filter((o) => o.kind === 'data').length;
  }
  assert.equal(received, 200, 'no packet lost across the automatic re-keyings');
  assert.ok(A.counters.rekeys.count >= 3);
  assert.notEqual(A.describe(linkId)!.dksi, first);
  assert.equal(B.counters.rejected.replay, undefined);
  // The peer never answers: at countLimit the sender refuses rather than wrap.
  let refused = 0;
  for (let i = 0; i < 200; i++) {
    for (const o of A.sendData(linkId, Uint8Array.of(i))) {
      if (o.kind === 'rejected' && o.cause === 'count_exhausted') refused++;
    }
  }
  assert.ok(refused > 0);
  assert.equal(A.counters.rejected.count_exhausted, refused);
});

test('re-keying mid-stream from either side, with old-key packets arriving after the switch: nothing lost', async () => {
  const { A, B, eps, linkId } = await pair();
  const bLink = linkOf(B);
  const late = [1, 2, 3].map((i) => (A.sendData(linkId, Uint8Array.of(i))[0] as Sent).bytes);
  const before = A.describe(linkId)!.dksi;
  let outs = pump(eps, 'john', B.rekey(bLink));
  assert.equal(established(outs, 'john')?.rekey, true);
  assert.notEqual(A.describe(linkId)!.dksi, before);
  for (const p of late) assert.equal(B.receiveData('mary', p)[0]!.kind, 'data', 'old key set still accepted');
  outs = pump(eps, 'mary', A.rekey(linkId, 'certificate')); // new KD too
  assert.equal(established(outs, 'mary')?.rekey, true);
  const got = pump(eps, 'mary', A.sendData(linkId, Uint8Array.of(42)));
  assert.equal(got.filter((o) => o.kind === 'data').length, 1);
  assert.equal(A.counters.rekeys.manual + B.counters.rekeys.manual, 2);
});

test('release to D2D-Idle, then resume by connection identities: no permanent identity, no KD establishment', async () => {
  const { A, B, eps, linkId } = await pair();
  const bLink = linkOf(B);
  pump(eps, 'mary', A.release(linkId));
  assert.equal(A.state(linkId), 'D2D-Idle');
  assert.equal(B.state(bLink), 'D2D-Idle');
  assert.equal(A.sendData(linkId, Uint8Array.of(1))[0]!.kind, 'rejected');
  const log: Sent[] = [];
  const outs = pump(eps, 'mary', A.resume(linkId), undefined, log);
  assert.ok(established(outs, 'mary') && established(outs, 'john'));
  const dcr = decodeMessage(decodePdu(log[0]!.bytes).body);
  assert.equal(dcr.target, undefined);
  assert.equal(dcr.keyData, undefined);
  assert.equal(dcr.kdMethod, 'existing');
  assert.equal(decodePdu(log[0]!.bytes).dstCid, bLink);
  assert.equal(B.state(bLink), 'D2D-Connected');
});

test("separate contexts per peer: Mary, holding her own link with John, cannot read John's traffic with Peter", async () => {
  const clock = new FakeClock();
  const over = { policy: { signallingCiphering: true, userPlaneCiphering: true, userPlaneIntegrity: false } };
  const mary = await endpoint('mary', over, clock);
  const john = await endpoint('john', over, clock);
  const peter = await endpoint('peter', over, clock);
  const eps = { mary, john, peter };
  const mj = mary.connect('john', 'john', 'certificate');
  pump(eps, 'mary', mj.out);
  const jp = john.connect('peter', 'peter', 'certificate');
  pump(eps, 'john', jp.out);
  const secret = new TextEncoder().encode('john to peter, private');
  const captured = (john.sendData(jp.linkId, secret)[0] as Sent).bytes;
  // Mary rewrites the captured PDU to her own link with John (connection identity and DKSI) and feeds it in.
  const forged = captured.slice();
  forged[0] = mj.linkId >>> 8;
  forged[1] = mj.linkId & 0xff;
  forged[2] = (forged[2]! & 0xf0) | mary.describe(mj.linkId)!.dksi!;
  const r = mary.receiveData('john', forged);
  const plain = r[0]!.kind === 'data' ? r[0]!.payload : undefined;
  assert.ok(plain, 'without user-plane integrity the PDU is deciphered, with the wrong key');
  assert.notDeepEqual(plain, secret);
  assert.equal(Buffer.from(plain).includes(Buffer.from('peter')), false);
  // With user-plane integrity on, the same attempt fails the MAC-I check.
  const io = { policy: { ...over.policy, userPlaneIntegrity: true } };
  const m2 = await endpoint('mary', io, clock);
  const j2 = await endpoint('john', io, clock);
  const p2 = await endpoint('peter', io, clock);
  const eps2 = { mary: m2, john: j2, peter: p2 };
  const a = m2.connect('john', 'john', 'certificate');
  pump(eps2, 'mary', a.out);
  const b = j2.connect('peter', 'peter', 'certificate');
  pump(eps2, 'john', b.out);
  const cap = (j2.sendData(b.linkId, secret)[0] as Sent).bytes.slice();
  cap[0] = a.linkId >>> 8;
  cap[1] = a.linkId & 0xff;
  cap[2] = (cap[2]! & 0xf0) | m2.describe(a.linkId)!.dksi!;
  assert.equal((m2.receiveData('john', cap)[0] as { cause: string }).cause, 'mac');
  assert.equal(m2.counters.integrityFailures.user, 1);
  // Peter, the intended receiver, reads it.
  assert.equal(
    (
      pump(eps2, 'john', j2.sendData(b.linkId, secret)).find((o) => o.kind === 'data') as {
        payload: Uint8Array;
      }
    ).payload.length,
    secret.length,
  );
});

test('signalling stays integrity protected: a stripped (unprotected) Release is rejected (policy)', async () => {
  const { B, linkId } = await pair();
  const bLink = linkOf(B);
  const plain = encodePdu({
    protected: false,
    dstCid: bLink,
    body: encodeMessage({ type: DL_MSG.DIRECT_COMMUNICATION_RELEASE, srcCid: linkId, cause: 0 }),
  });
  assert.equal((B.receiveSignalling('mary', plain)[0] as { cause: string }).cause, 'policy');
  assert.equal(B.state(bLink), 'D2D-Connected');
  assert.equal(DL_BEARER.SIGNALLING, 0);
});

test('malformed input never throws: random bytes are counted and dropped', async () => {
  const { A, B, linkId } = await pair();
  const bLink = linkOf(B);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, withCid) => {
      const b = bytes.slice();
      if (withCid && b.length > 3) {
        b[1] = linkId >>> 8;
        b[2] = linkId & 0xff;
      }
      for (const o of [...A.receiveSignalling('john', b), ...A.receiveData('john', b)]) {
        assert.ok(o.kind !== 'data' && o.kind !== 'established', o.kind);
      }
    }),
    { numRuns: 500 },
  );
  assert.equal(A.state(linkId), 'D2D-Connected');
  assert.equal(B.state(bLink), 'D2D-Connected');
});
