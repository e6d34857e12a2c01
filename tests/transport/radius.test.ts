import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { SqnArray } from '../../crypto-core/aka-sqn.js';
import { fromHex, toHex } from '../../crypto-core/bytes.js';
import { Milenage } from '../../crypto-core/milenage.js';
import { EapAkaPrimePeer } from '../../procedures/eap/eap-aka-prime-peer.js';
import { EapAkaPrimeServer } from '../../procedures/eap/eap-aka-prime-server.js';
import { Hss } from '../../procedures/eap/hss.js';
import { type AaaEvent, RadiusAaa } from '../../procedures/eap/radius-aaa.js';
import { RadiusClient } from '../../transport/radius/client.js';
import {
  buildAccessRequest,
  buildResponse,
  decodeRadius,
  decryptMppeKey,
  eapMessageAttributes,
  encryptMppeKey,
  MS_MPPE_RECV_KEY,
  mppeKeyAttributes,
  msVendorValue,
  RADIUS_ATTR,
  RADIUS_CODE,
  verifyRequestMessageAuthenticator,
  verifyResponse,
} from '../../transport/radius/codec.js';
import { eapPassThrough } from '../../transport/radius/passthrough.js';

const SECRET = new TextEncoder().encode('testing123');
const IMSI = '001010000000001';
const K = '465b5ce8b199b49faa5f0a2ee238a6bc';
const OPC = 'cd63cb71954a9f4e48a5994e37a02baf';

test('RADIUS: Response Authenticator is MD5(Code|ID|Length|RequestAuth|Attributes|Secret) (RFC 2865 3)', () => {
  const req = buildAccessRequest(9, eapMessageAttributes(Uint8Array.of(2, 1, 0, 5, 1)), SECRET);
  assert.ok(verifyRequestMessageAuthenticator(req, SECRET));
  assert.ok(!verifyRequestMessageAuthenticator(req, new TextEncoder().encode('wrong')));
  const reqAuth = req.slice(4, 20);
  const resp = buildResponse(RADIUS_CODE.ACCESS_REJECT, 9, reqAuth, [], SECRET);
  // Independent recomputation with node:crypto over the wire bytes.
  const h = createHash('md5')
    .update(resp.subarray(0, 4))
    .update(reqAuth)
    .update(resp.subarray(20))
    .update(SECRET);
  assert.equal(toHex(resp.subarray(4, 20)), h.digest('hex'));
  assert.ok(verifyResponse(resp, reqAuth, SECRET));
  const tampered = resp.slice();
  tampered[tampered.length - 1]! ^= 1;
  assert.ok(!verifyResponse(tampered, reqAuth, SECRET));
  assert.ok(!verifyResponse(resp, new Uint8Array(16), SECRET));
});

test('RADIUS: MS-MPPE key encryption round-trips; salt high bit set; ciphertext depends on the secret (RFC 2548)', () => {
  const key = fromHex('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff');
  const ra = fromHex('0f0e0d0c0b0a09080706050403020100');
  const enc = encryptMppeKey(key, SECRET, ra, Uint8Array.of(0x12, 0x34));
  assert.equal(enc[0], 0x92);
  assert.equal(enc.length, 2 + 48);
  assert.equal(toHex(decryptMppeKey(enc, SECRET, ra)), toHex(key));
  // First block by hand: b1 = MD5(secret|RA|salt), c1 = (len|key[0..14]) XOR b1.
  const b1 = createHash('md5').update(SECRET).update(ra).update(enc.subarray(0, 2)).digest();
  assert.equal(enc[2]! ^ b1[0]!, 32);
  let wrong = '';
  try {
    wrong = toHex(decryptMppeKey(enc, new TextEncoder().encode('x'), ra));
  } catch {
    wrong = 'length check failed';
  }
  assert.notEqual(wrong, toHex(key));
  const msk = new Uint8Array(64).map((_, i) => i);
  const attrs = mppeKeyAttributes(msk, SECRET, ra);
  const pkt = decodeRadius(buildResponse(2, 1, ra, attrs, SECRET));
  assert.equal(
    toHex(decryptMppeKey(msVendorValue(pkt, MS_MPPE_RECV_KEY)!, SECRET, ra)),
    toHex(msk.subarray(0, 32)),
  );
});

test('RADIUS: decoder rejects truncated and inconsistent packets without throwing anything but its error', () => {
  const req = buildAccessRequest(1, eapMessageAttributes(Uint8Array.of(2, 1, 0, 5, 1)), SECRET);
  for (let cut = 0; cut < req.length; cut++) assert.throws(() => decodeRadius(req.subarray(0, cut)));
  const bad = req.slice();
  bad[21] = 1; // attribute length 1
  assert.throws(() => decodeRadius(bad));
});

function makePeer(k = K) {
  return new EapAkaPrimePeer({
    permanentIdentity: `6${IMSI}@wlan.mnc001.mcc001.3gppnetwork.org`,
    usim: new Milenage(fromHex(k), fromHex(OPC)),
    sqn: new SqnArray(),
  });
}

/** A RadiusAaa on a real loopback UDP socket, recording events (what the aaa role does, minus metrics). */
async function startAaa(secret = SECRET) {
  const hss = new Hss([{ imsi: IMSI, k: K, opc: OPC }]);
  const events: AaaEvent[] = [];
  const msks: Uint8Array[] = [];
  const aaa = new RadiusAaa(new EapAkaPrimeServer({ networkName: 'WLAN' }, hss), secret, {
    onAccept: (k) => msks.push(k.msk),
  });
  const sock = createSocket('udp4');
  sock.on('message', (m, r) => {
    const out = aaa.handle(new Uint8Array(m), `${r.address}:${r.port}`, performance.now());
    events.push(out.event);
    if (out.reply) sock.send(out.reply, r.port, r.address);
  });
  await new Promise<void>((res) => sock.bind(0, '127.0.0.1', res));
  return {
    port: sock.address().port,
    events,
    msks,
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
}

test("RADIUS + EAP-AKA' over loopback: accept with MS-MPPE keys = MSK of both peer and server", async () => {
  const aaa = await startAaa();
  const client = new RadiusClient({ host: '127.0.0.1', port: aaa.port, secret: SECRET, retryMs: 300 });
  await client.start();
  try {
    const peer = makePeer();
    let peerMsk: Uint8Array | undefined;
    const r = await eapPassThrough(client, 'ue-1', async (eap) => {
      const o = peer.receive(eap);
      if (o.kind === 'success') peerMsk = o.msk;
      return o.kind === 'response' ? o.packet : undefined;
    });
    assert.equal(r.result, 'accept');
    if (r.result !== 'accept') return;
    assert.equal(toHex(r.msk), toHex(peerMsk!));
    assert.equal(toHex(r.msk), toHex(aaa.msks[0]!));
    // Wrong K: Access-Reject with cause authentication_reject.
    const bad = makePeer('00'.repeat(16));
    const r2 = await eapPassThrough(client, 'ue-2', async (eap) => {
      const o = bad.receive(eap);
      return o.kind === 'response' ? o.packet : undefined;
    });
    assert.equal(r2.result, 'reject');
    assert.ok(aaa.events.some((e) => e.kind === 'reject' && e.cause === 'authentication_reject'));
  } finally {
    await client.close();
    await aaa.close();
  }
});

test('RADIUS: wrong shared secret -> silently dropped and counted; client times out', async () => {
  const aaa = await startAaa();
  const client = new RadiusClient({
    host: '127.0.0.1',
    port: aaa.port,
    secret: new TextEncoder().encode('not-the-secret'),
    retryMs: 100,
    attempts: 2,
  });
  await client.start();
  try {
    await assert.rejects(
      eapPassThrough(client, 'ue-1', async (eap) => {
        const o = makePeer().receive(eap);
        return o.kind === 'response' ? o.packet : undefined;
      }),
      /timeout/,
    );
    assert.equal(aaa.events.length, 2);
    assert.ok(aaa.events.every((e) => e.kind === 'drop' && e.reason === 'bad_message_authenticator'));
  } finally {
    await client.close();
    await aaa.close();
  }
});

test('RADIUS: a replayed Access-Request gets the cached reply (duplicate) from the same source, Reject elsewhere', async () => {
  const aaa = await startAaa();
  const sock = createSocket('udp4');
  const other = createSocket('udp4');
  const replies: Uint8Array[] = [];
  const otherReplies: Uint8Array[] = [];
  sock.on('message', (m) => replies.push(new Uint8Array(m)));
  other.on('message', (m) => otherReplies.push(new Uint8Array(m)));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  await new Promise<void>((r) => other.bind(0, '127.0.0.1', r));
  const wait = async (arr: Uint8Array[], n: number) => {
    for (let i = 0; i < 100 && arr.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(arr.length, n);
  };
  try {
    const peer = makePeer();
    const idResp = peer.receive(Uint8Array.of(1, 0, 0, 5, 1));
    if (idResp.kind !== 'response') throw new Error('no identity');
    const req1 = buildAccessRequest(5, eapMessageAttributes(idResp.packet), SECRET);
    sock.send(req1, aaa.port, '127.0.0.1');
    await wait(replies, 1);
    const challenge = decodeRadius(replies[0]!);
    assert.equal(challenge.code, RADIUS_CODE.ACCESS_CHALLENGE);
    const state = challenge.attributes.find((a) => a.type === RADIUS_ATTR.STATE)!.value;
    const eapCh = challenge.attributes.find((a) => a.type === RADIUS_ATTR.EAP_MESSAGE)!.value;
    const resp = peer.receive(eapCh);
    if (resp.kind !== 'response') throw new Error('no response');
    const req2 = buildAccessRequest(
      6,
      [...eapMessageAttributes(resp.packet), { type: RADIUS_ATTR.STATE, value: state }],
      SECRET,
    );
    sock.send(req2, aaa.port, '127.0.0.1');
    await wait(replies, 2);
    assert.equal(replies[1]![0], RADIUS_CODE.ACCESS_ACCEPT);
    // Replay from the same source inside the duplicate window: the identical Accept again, no second authentication.
    sock.send(req2, aaa.port, '127.0.0.1');
    await wait(replies, 3);
    assert.equal(toHex(replies[2]!), toHex(replies[1]!));
    assert.equal(aaa.events.at(-1)?.kind, 'duplicate');
    // Replay from another source: the State is gone -> Access-Reject (unknown_state).
    other.send(req2, aaa.port, '127.0.0.1');
    await wait(otherReplies, 1);
    assert.equal(otherReplies[0]![0], RADIUS_CODE.ACCESS_REJECT);
    assert.deepEqual(aaa.events.at(-1), { kind: 'reject', cause: 'unknown_state' });
    assert.equal(aaa.msks.length, 1);
    // Truncated EAP inside a valid RADIUS request: dropped and counted.
    const req3 = buildAccessRequest(7, eapMessageAttributes(resp.packet.subarray(0, 9)), SECRET);
    other.send(req3, aaa.port, '127.0.0.1');
    for (let i = 0; i < 50 && aaa.events.length < 6; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(aaa.events.at(-1)?.kind, 'drop');
  } finally {
    sock.close();
    other.close();
    await aaa.close();
  }
});

test('RADIUS: concurrent EAP sessions are bounded; beyond the bound new ones are dropped as overload', () => {
  const hss = new Hss([{ imsi: IMSI, k: K, opc: OPC }]);
  const aaa = new RadiusAaa(new EapAkaPrimeServer({ networkName: 'WLAN' }, hss), SECRET, { maxSessions: 2 });
  const kinds: string[] = [];
  for (let i = 0; i < 3; i++) {
    const idResp = makePeer().receive(Uint8Array.of(1, 0, 0, 5, 1));
    if (idResp.kind !== 'response') throw new Error('no identity');
    const r = aaa.handle(buildAccessRequest(i, eapMessageAttributes(idResp.packet), SECRET), `src${i}`, 0);
    kinds.push(r.event.kind === 'drop' ? `drop:${r.event.reason}` : r.event.kind);
  }
  assert.deepEqual(kinds, ['challenge', 'challenge', 'drop:overload']);
  assert.equal(aaa.liveSessions, 2);
});
