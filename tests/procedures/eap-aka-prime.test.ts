import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SqnArray } from '../../crypto-core/aka-sqn.js';
import { fromHex, toHex } from '../../crypto-core/bytes.js';
import { Milenage } from '../../crypto-core/milenage.js';
import { EapAkaPrimePeer, type PeerOutput } from '../../procedures/eap/eap-aka-prime-peer.js';
import {
  EapAkaPrimeServer,
  type EapAkaPrimeServerConfig,
  type ServerOutput,
  TemporaryIdentities,
} from '../../procedures/eap/eap-aka-prime-server.js';
import {
  AKA_SUBTYPE,
  AT,
  allAttrs,
  decodeAka,
  EAP_CODE,
  EapDecodeError,
  encodeAka,
  encodeEap,
  findAttr,
  readLength,
  readU16,
} from '../../procedures/eap/eap-codec.js';
import { Hss } from '../../procedures/eap/hss.js';

const IMSI = '001010000000001';
const K = '465b5ce8b199b49faa5f0a2ee238a6bc';
const OPC = 'cd63cb71954a9f4e48a5994e37a02baf';
const ID_REQ = encodeEap({ code: EAP_CODE.REQUEST, id: 7, type: 1, data: new Uint8Array(0) });

function setup(opts: Partial<EapAkaPrimeServerConfig> = {}, peerK = K, peerOpc = OPC, hssSeq = 0) {
  const hss = new Hss([{ imsi: IMSI, k: K, opc: OPC, seq: hssSeq }]);
  const server = new EapAkaPrimeServer({ networkName: 'WLAN', ...opts }, hss);
  const sqn = new SqnArray();
  const peer = new EapAkaPrimePeer({
    permanentIdentity: `6${IMSI}@nai.epc.mnc001.mcc001.3gppnetwork.org`,
    usim: new Milenage(fromHex(peerK), fromHex(peerOpc)),
    sqn,
  });
  return { hss, server, peer, sqn };
}

interface Trace {
  server: ServerOutput;
  peer?: PeerOutput;
  subtypes: number[];
}

/** Drives peer and server against each other as a pass-through authenticator would. */
function run(
  server: EapAkaPrimeServer,
  peer: EapAkaPrimePeer,
  tamper?: (p: Uint8Array, dir: 'up' | 'down') => Uint8Array,
): Trace {
  peer.reset();
  const session = server.newSession(0);
  const subtypes: number[] = [];
  let up = peer.receive(ID_REQ);
  for (let i = 0; i < 12; i++) {
    assert.equal(up.kind, 'response');
    if (up.kind !== 'response') throw new Error('unreachable');
    const s = session.receive(tamper ? tamper(up.packet, 'up') : up.packet, 1);
    if (s.kind !== 'request') {
      const p = s.kind === 'drop' ? undefined : peer.receive(s.packet);
      return { server: s, ...(p ? { peer: p } : {}), subtypes };
    }
    subtypes.push(s.packet[5]!);
    up = peer.receive(tamper ? tamper(s.packet, 'down') : s.packet);
  }
  throw new Error('too many rounds');
}

test("EAP-AKA' full authentication: both sides derive the same MSK/EMSK; AT_KDF_INPUT carries the network name", () => {
  const { server, peer } = setup();
  let challenge: Uint8Array | undefined;
  const t = run(server, peer, (p, dir) => {
    if (dir === 'down' && p[5] === AKA_SUBTYPE.CHALLENGE) challenge = p;
    return p;
  });
  assert.equal(t.server.kind, 'success');
  assert.equal(t.peer?.kind, 'success');
  if (t.server.kind !== 'success' || t.peer?.kind !== 'success') return;
  assert.equal(toHex(t.server.msk), toHex(t.peer.msk));
  assert.equal(toHex(t.server.emsk), toHex(t.peer.emsk));
  assert.equal(t.server.msk.length, 64);
  assert.equal(t.server.imsi, IMSI);
  const m = decodeAka(challenge!);
  assert.equal(new TextDecoder().decode(readLength(findAttr(m, AT.KDF_INPUT), 'x')), 'WLAN');
  assert.deepEqual(allAttrs(m, AT.KDF).map(readU16), [1]);
  assert.ok(findAttr(m, AT.CHECKCODE) && findAttr(m, AT.MAC) && findAttr(m, AT.RAND) && findAttr(m, AT.AUTN));
});

test("EAP-AKA': AT_ANY_ID_REQ round, then AT_CHECKCODE over the identity messages is verified by both sides", () => {
  const { server, peer } = setup({ requestIdentity: true });
  const t = run(server, peer);
  assert.deepEqual(t.subtypes, [AKA_SUBTYPE.IDENTITY, AKA_SUBTYPE.CHALLENGE]);
  assert.equal(t.server.kind, 'success');
  // A tampered identity request (AT_ANY_ID_REQ replaced by AT_PERMANENT_ID_REQ) is caught by AT_CHECKCODE.
  const t2 = run(server, peer, (p, dir) => {
    if (dir === 'down' && p[5] === AKA_SUBTYPE.IDENTITY) {
      const m = decodeAka(p);
      return encodeAka(EAP_CODE.REQUEST, m.id, AKA_SUBTYPE.IDENTITY, [
        { type: AT.PERMANENT_ID_REQ, value: new Uint8Array(2) },
      ]).bytes;
    }
    return p;
  });
  assert.equal(t2.server.kind, 'failure');
  assert.equal(t2.server.kind === 'failure' && t2.server.cause, 'client_error');
  assert.equal(peer.lastError, 'checkcode_mismatch');
});

test("EAP-AKA': pseudonym issued in AT_ENCR_DATA is used next time; unknown pseudonym -> AT_PERMANENT_ID_REQ", () => {
  const { server, peer } = setup({ maxFastReauths: 0 });
  assert.equal(run(server, peer).server.kind, 'success');
  assert.match(peer.pseudonym ?? '', /^7[0-9a-f]{24}$/);
  const t = run(server, peer);
  assert.deepEqual(t.subtypes, [AKA_SUBTYPE.CHALLENGE], 'known pseudonym: no identity round');
  assert.equal(t.server.kind, 'success');
  server.pseudonyms.clear();
  const t2 = run(server, peer);
  assert.deepEqual(t2.subtypes, [AKA_SUBTYPE.IDENTITY, AKA_SUBTYPE.CHALLENGE]);
  assert.equal(t2.server.kind, 'success');
});

test("EAP-AKA' fast re-authentication (RFC 4187 5, RFC 5448 3.3): same fresh MSK on both sides, counter grows, limit ends it", () => {
  const { server, peer, hss } = setup({ maxFastReauths: 2 });
  const full = run(server, peer);
  assert.equal(full.server.kind === 'success' && full.server.method, 'full');
  assert.match(peer.reauth?.id ?? '', /^8[0-9a-f]{24}@nai\.epc\.mnc001\.mcc001\.3gppnetwork\.org$/);
  const vectorsBefore = hss.vectors;
  const msks = new Set<string>();
  for (const counter of [1, 2]) {
    const t = run(server, peer);
    assert.deepEqual(t.subtypes, [AKA_SUBTYPE.REAUTHENTICATION], 'no identity round, no Challenge');
    assert.equal(t.server.kind === 'success' && t.server.method, 'reauth');
    assert.equal(t.peer?.kind === 'success' && t.peer.method, 'reauth');
    if (t.server.kind !== 'success' || t.peer?.kind !== 'success') return;
    assert.equal(toHex(t.server.msk), toHex(t.peer.msk));
    assert.equal(toHex(t.server.emsk), toHex(t.peer.emsk));
    assert.equal(t.server.imsi, IMSI);
    msks.add(toHex(t.server.msk));
    if (counter === 1) assert.equal(peer.reauth?.counter, 1);
  }
  assert.equal(msks.size, 2, 'every re-authentication has its own MSK');
  assert.equal(hss.vectors, vectorsBefore, 'no authentication vector was used');
  // The second re-authentication was the last allowed: no AT_NEXT_REAUTH_ID, so the next one is full again.
  assert.equal(peer.reauth, undefined);
  const again = run(server, peer);
  assert.equal(again.server.kind === 'success' && again.server.method, 'full');
});

test("EAP-AKA' fast re-authentication with pseudonyms: re-auth identity in the pseudonym's realm, pseudonym kept through re-authentications, full authentication on the pseudonym after the limit", () => {
  const { server, peer, hss } = setup({ maxFastReauths: 1 });
  // First full authentication on the permanent identity: pseudonym and re-auth identity both issued (encrypted).
  assert.equal(run(server, peer).server.kind, 'success');
  const pseudonym = peer.pseudonym!;
  assert.equal(server.pseudonyms.get(pseudonym)?.imsi, IMSI);
  assert.equal(run(server, peer).server.kind === 'success' ? 'reauth' : '', 'reauth');
  assert.equal(peer.pseudonym, pseudonym, 'a re-authentication does not renew the pseudonym');
  // The limit (1) is reached: the next authentication is full, on the pseudonym (no identity round), with a fresh
  // vector, and issues a new pseudonym and a new re-auth identity.
  const vectors = hss.vectors;
  let sentIdentity = '';
  const full = run(server, peer, (p, dir) => {
    if (dir === 'up' && p[4] === 1) sentIdentity = new TextDecoder().decode(p.subarray(5));
    return p;
  });
  assert.equal(sentIdentity, `${pseudonym}@nai.epc.mnc001.mcc001.3gppnetwork.org`);
  assert.deepEqual(full.subtypes, [AKA_SUBTYPE.CHALLENGE]);
  assert.equal(full.server.kind === 'success' && full.server.method, 'full');
  assert.equal(full.server.kind === 'success' && full.server.imsi, IMSI);
  assert.equal(hss.vectors, vectors + 1);
  assert.notEqual(peer.pseudonym, pseudonym);
  assert.ok(peer.reauth, 're-authentication is possible again');
  const again = run(server, peer);
  assert.equal(again.server.kind === 'success' && again.server.method, 'reauth');
  if (again.server.kind === 'success' && again.peer?.kind === 'success')
    assert.equal(toHex(again.server.msk), toHex(again.peer.msk));
});

test('temporary identities: one per IMSI (a newer one replaces the older), bounded in all, oldest dropped first', () => {
  const t = new TemporaryIdentities<{ imsi: string; n: number }>(3);
  t.set('a1', { imsi: 'A', n: 1 });
  t.set('a2', { imsi: 'A', n: 2 });
  assert.equal(t.get('a1'), undefined, 'the older identity of A is gone');
  assert.equal(t.get('a2')?.n, 2);
  t.set('b1', { imsi: 'B', n: 1 });
  t.set('c1', { imsi: 'C', n: 1 });
  t.set('d1', { imsi: 'D', n: 1 }); // the bound: a2 (oldest) goes
  assert.equal(t.size, 3);
  assert.equal(t.get('a2'), undefined);
  t.set('a3', { imsi: 'A', n: 3 }); // b1 (oldest) goes; A has no older identity left to drop
  assert.deepEqual(
    [...t].map(([k]) => k),
    ['c1', 'd1', 'a3'],
  );
  assert.equal(t.delete('c1'), true);
  assert.equal(t.delete('c1'), false);
  t.set('c2', { imsi: 'C', n: 2 });
  assert.deepEqual(
    [...t].map(([k]) => k),
    ['d1', 'a3', 'c2'],
  );
});

test("EAP-AKA': a new full authentication retires the subscriber's previous pseudonym and re-auth identity", () => {
  const { server, peer } = setup();
  assert.equal(run(server, peer).server.kind, 'success');
  const [oldPseudonym, oldReauth] = [peer.pseudonym!, peer.reauth!.id];
  // The peer forgets its re-authentication state: the next authentication is full (on the pseudonym).
  peer.reauth = undefined;
  const t = run(server, peer);
  assert.equal(t.server.kind === 'success' && t.server.method, 'full');
  assert.equal(server.pseudonyms.size, 1);
  assert.equal(server.reauths.size, 1);
  assert.equal(server.pseudonyms.get(oldPseudonym), undefined);
  assert.equal(server.reauths.get(oldReauth), undefined);
  // The retired re-auth identity is refused: AT_FULLAUTH_ID_REQ.
  const s = server.newSession(0);
  const out = s.receive(encodeEap({ code: 2, id: 7, type: 1, data: new TextEncoder().encode(oldReauth) }), 0);
  assert.ok(out.kind === 'request' && findAttr(decodeAka(out.packet), AT.FULLAUTH_ID_REQ));
});

test("EAP-AKA' fast re-authentication: stale counter -> AT_COUNTER_TOO_SMALL and full authentication; forgotten identity -> AT_FULLAUTH_ID_REQ; tampered AT_MAC refused", () => {
  const { server, peer } = setup();
  assert.equal(run(server, peer).server.kind, 'success');
  assert.equal(run(server, peer).server.kind === 'success' ? 'reauth' : '', 'reauth');
  // The server's context goes back to counter 1, which the peer has already accepted.
  const [id, ctx] = [...server.reauths].find(([k]) => k === peer.reauth!.id)!;
  server.reauths.set(id, { ...ctx, counter: 1 });
  const t = run(server, peer);
  assert.deepEqual(t.subtypes, [AKA_SUBTYPE.REAUTHENTICATION, AKA_SUBTYPE.IDENTITY, AKA_SUBTYPE.CHALLENGE]);
  assert.equal(peer.lastError, 'reauth_counter');
  assert.equal(t.server.kind === 'success' && t.server.method, 'full');
  // The server forgot every re-authentication identity: the peer is asked for a full-authentication identity.
  server.reauths.clear();
  const t2 = run(server, peer);
  assert.deepEqual(t2.subtypes, [AKA_SUBTYPE.IDENTITY, AKA_SUBTYPE.CHALLENGE]);
  assert.equal(t2.server.kind === 'success' && t2.server.method, 'full');
  // A re-authentication request whose AT_MAC does not verify: Client-Error at the peer, failure at the server.
  const t3 = run(server, peer, (p, dir) => {
    if (dir === 'down' && p[5] === AKA_SUBTYPE.REAUTHENTICATION) {
      const c = p.slice();
      c[c.length - 1]! ^= 1;
      return c;
    }
    return p;
  });
  assert.equal(peer.lastError, 'bad_mac');
  assert.equal(t3.server.kind === 'failure' && t3.server.cause, 'client_error');
});

test("EAP-AKA': an unknown fast re-auth identity gets AT_FULLAUTH_ID_REQ; an unknown IMSI fails with unknown_identity", () => {
  const { server } = setup();
  const s = server.newSession(0);
  const out = s.receive(
    encodeEap({ code: 2, id: 7, type: 1, data: new TextEncoder().encode('8abc@realm') }),
    0,
  );
  assert.equal(out.kind, 'request');
  if (out.kind === 'request') assert.ok(findAttr(decodeAka(out.packet), AT.FULLAUTH_ID_REQ));
  const s2 = server.newSession(0);
  const o2 = s2.receive(
    encodeEap({ code: 2, id: 7, type: 1, data: new TextEncoder().encode('6999990000000000@x') }),
    0,
  );
  assert.equal(o2.kind === 'failure' && o2.cause, 'unknown_identity');
});

test("EAP-AKA': wrong K and wrong OPc -> peer Authentication-Reject, server failure authentication_reject", () => {
  for (const [k, opc] of [
    ['00'.repeat(16), OPC],
    [K, '11'.repeat(16)],
  ] as const) {
    const { server, peer } = setup({}, k, opc);
    const t = run(server, peer);
    assert.equal(t.server.kind === 'failure' && t.server.cause, 'authentication_reject');
    assert.equal(peer.lastError, 'autn_mac_failure');
    assert.equal(t.peer?.kind, 'failure');
  }
});

test("EAP-AKA': stale SQN at the HSS -> Synchronization-Failure with AUTS, resync, then success", () => {
  const { server, peer, sqn, hss } = setup({}, K, OPC, 0);
  // The USIM has already seen SEQ 1000 (e.g. the HSS lost its state).
  sqn.accept(fromHex('00000000fa00')); // SEQ = 1000 << 5... IND 0
  const t = run(server, peer);
  assert.deepEqual(t.subtypes, [AKA_SUBTYPE.CHALLENGE, AKA_SUBTYPE.CHALLENGE]);
  assert.equal(t.server.kind, 'success');
  assert.equal(peer.syncFailures, 1);
  assert.equal(hss.resyncs, 1);
});

test("EAP-AKA': forged AUTS (bad MAC-S) -> failure resync_mac_s", () => {
  const { server, peer, sqn } = setup();
  sqn.accept(fromHex('00000000fa00'));
  const t = run(server, peer, (p, dir) => {
    if (dir === 'up' && p[5] === AKA_SUBTYPE.SYNCHRONIZATION_FAILURE) {
      const q = p.slice();
      q[8 + 2 + 10]! ^= 1;
      return q;
    }
    return p;
  });
  assert.equal(t.server.kind === 'failure' && t.server.cause, 'resync_mac_s');
});

test("EAP-AKA': AT_KDF negotiation selects an alternative and rejects bidding down", () => {
  // Server prefers an (unimplemented) KDF 2 then 1: the peer selects 1, the server repeats the Challenge.
  const { server, peer } = setup({ kdfOffer: [2, 1] });
  let seen: number[][] = [];
  const t = run(server, peer, (p, dir) => {
    if (dir === 'down' && p[5] === AKA_SUBTYPE.CHALLENGE)
      seen.push(allAttrs(decodeAka(p), AT.KDF).map(readU16));
    return p;
  });
  assert.equal(t.server.kind, 'success');
  assert.deepEqual(seen, [
    [2, 1],
    [1, 2, 1],
  ]);
  // An attacker strips KDF 2 from the list in the repeated Challenge: the peer refuses (and the MAC would fail too).
  seen = [];
  const { server: s2, peer: p2 } = setup({ kdfOffer: [2, 1] });
  let n = 0;
  const t2 = run(s2, p2, (p, dir) => {
    if (dir === 'down' && p[5] === AKA_SUBTYPE.CHALLENGE && ++n === 2) {
      const m = decodeAka(p);
      const attrs = m.attributes
        .filter((a) => !(a.type === AT.KDF && readU16(a) === 2))
        .map((a) => ({ type: a.type, value: a.value }));
      return encodeAka(EAP_CODE.REQUEST, m.id, AKA_SUBTYPE.CHALLENGE, attrs).bytes;
    }
    return p;
  });
  assert.equal(t2.server.kind === 'failure' && t2.server.cause, 'client_error');
  assert.equal(p2.lastError, 'kdf_bidding_down');
  // No supported KDF at all.
  const { server: s3, peer: p3 } = setup({ kdfOffer: [7] });
  assert.equal(run(s3, p3).server.kind, 'failure');
  assert.equal(p3.lastError, 'kdf_unsupported');
});

test("EAP-AKA': expected network name mismatch and tampered AT_MAC are rejected", () => {
  const { server } = setup({ networkName: 'WLAN' });
  const peer = new EapAkaPrimePeer({
    permanentIdentity: `6${IMSI}@x`,
    usim: new Milenage(fromHex(K), fromHex(OPC)),
    sqn: new SqnArray(),
    expectedNetworkName: 'OTHER',
  });
  assert.equal(run(server, peer).server.kind, 'failure');
  assert.equal(peer.lastError, 'network_name');
  const { server: s2, peer: p2 } = setup();
  const t = run(s2, p2, (p, dir) => {
    if (dir === 'up' && p[5] === AKA_SUBTYPE.CHALLENGE) {
      const q = p.slice();
      q[q.length - 1]! ^= 0x01;
      return q;
    }
    return p;
  });
  assert.equal(t.server.kind === 'failure' && t.server.cause, 'bad_mac');
});

test("EAP-AKA': AMF without the separation bit is refused by the peer", () => {
  const hss = new Hss([{ imsi: IMSI, k: K, opc: OPC, amf: '0000' }]);
  const server = new EapAkaPrimeServer({ networkName: 'WLAN' }, hss);
  const { peer } = setup();
  assert.equal(run(server, peer).server.kind, 'failure');
  assert.equal(peer.lastError, 'amf_separation_bit');
});

test("EAP-AKA': truncated, garbage and wrong-identifier packets are dropped, never thrown", () => {
  const { server, peer } = setup();
  const s = server.newSession(0);
  const first = peer.receive(ID_REQ);
  assert.equal(first.kind, 'response');
  if (first.kind !== 'response') return;
  const ch = s.receive(first.packet, 0);
  assert.equal(ch.kind, 'request');
  if (ch.kind !== 'request') return;
  const resp = peer.receive(ch.packet);
  if (resp.kind !== 'response') throw new Error('no response');
  for (let cut = 0; cut < resp.packet.length; cut += 3) {
    const o = s.receive(resp.packet.subarray(0, cut), 0);
    assert.equal(o.kind, 'drop', `cut ${cut}`);
  }
  for (let cut = 0; cut < ch.packet.length; cut += 5) {
    const fresh = setup().peer;
    assert.equal(fresh.receive(ch.packet.subarray(0, cut)).kind, 'drop');
  }
  // Length field larger than the buffer; attribute with Length 0; wrong identifier.
  const bad = resp.packet.slice();
  bad[3] = 0xff;
  assert.equal(s.receive(bad, 0).kind, 'drop');
  const zero = resp.packet.slice();
  zero[9] = 0;
  assert.equal(s.receive(zero, 0).kind, 'drop');
  const wrongId = resp.packet.slice();
  wrongId[1] = (wrongId[1]! + 1) & 0xff;
  assert.equal(s.receive(wrongId, 0).kind, 'drop');
  // Random bytes.
  for (let i = 0; i < 200; i++) {
    const junk = new Uint8Array(Math.floor(Math.random() * 80)).map(() => Math.floor(Math.random() * 256));
    const o = s.receive(junk, 0);
    assert.ok(o.kind === 'drop' || o.kind === 'failure');
  }
  assert.throws(() => decodeAka(Uint8Array.of(2, 1, 0, 5, 50)), EapDecodeError);
  // The genuine response still completes after all the junk.
  const fin = s.receive(resp.packet, 0);
  assert.equal(fin.kind, 'success');
});

test("EAP-AKA': session timeout gives failure timeout", () => {
  const { server, peer } = setup({ timeoutMs: 10 });
  const s = server.newSession(0);
  const r = peer.receive(ID_REQ);
  if (r.kind !== 'response') throw new Error('x');
  const o = s.receive(r.packet, 50);
  assert.equal(o.kind === 'failure' && o.cause, 'timeout');
});
