import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { fromHex, toHex } from '../../crypto-core/bytes.js';
import { kdf } from '../../crypto-core/kdf-ts33220.js';
import {
  decodeDcr,
  decodeDsmcParams,
  decodeRelayMsg,
  deriveRelayLinkKeys,
  encodeDcr,
  encodeDsmc,
  RELAY_MSG,
  RelayMsgError,
  relayLinkContexts,
} from '../../procedures/relay/relay-link.js';

const msk = new Uint8Array(randomBytes(64));
const rsc = fromHex('000001');
const nonce1 = new Uint8Array(randomBytes(16));
const nonce2 = new Uint8Array(randomBytes(16));
const params = { ksi: 3, nonce2, cipherAlg: 2 as const, integrityAlg: 2 as const };

test('relay link keys: KD = KDF(MSK, 0xF2, RSC), KD-sess = KDF(KD, 0xF0, N1, N2), PIK = LSB-128 KDF(KD-sess, 0xF1, 1, alg)', () => {
  const k = deriveRelayLinkKeys(msk, rsc, nonce1, nonce2, 2, 2);
  // Independent recomputation with the generic TS 33.220 KDF and the FC values documented in docs/relay.md.
  const kd = kdf(msk, 0xf2, rsc);
  const kdSess = kdf(kd, 0xf0, nonce1, nonce2);
  assert.equal(toHex(k.kd), toHex(kd));
  assert.equal(toHex(k.kdSess), toHex(kdSess));
  assert.equal(toHex(k.pik), toHex(kdf(kdSess, 0xf1, Uint8Array.of(1), Uint8Array.of(2)).slice(16)));
  assert.equal(toHex(k.pek), toHex(kdf(kdSess, 0xf1, Uint8Array.of(0), Uint8Array.of(2)).slice(16)));
  // Another RSC or nonce gives other keys.
  assert.notEqual(toHex(deriveRelayLinkKeys(msk, fromHex('000002'), nonce1, nonce2, 2, 2).kd), toHex(k.kd));
  assert.notEqual(toHex(deriveRelayLinkKeys(msk, rsc, nonce2, nonce1, 2, 2).kdSess), toHex(k.kdSess));
});

test('DSMC: the remote UE verifies it with keys from its own MSK; a tampered algorithm or a wrong MSK fails', () => {
  const relayKeys = deriveRelayLinkKeys(msk, rsc, nonce1, nonce2, 2, 2);
  const relay = relayLinkContexts('relay', relayKeys, params, { ciphering: true, integrity: true });
  const wire = encodeDsmc(params, nonce1, relay.sigTx);
  const m = decodeRelayMsg(wire);
  assert.equal(m.type, RELAY_MSG.DSMC);
  const d = decodeDsmcParams(m.body);
  const ueKeys = deriveRelayLinkKeys(
    msk,
    rsc,
    nonce1,
    d.params.nonce2,
    d.params.cipherAlg,
    d.params.integrityAlg,
  );
  const ue = relayLinkContexts('remote-ue', ueKeys, d.params, { ciphering: true, integrity: true });
  const r = ue.sigRx.unprotect(d.pdu);
  assert.ok(r.ok);
  if (r.ok) assert.equal(toHex(r.payload), toHex(Buffer.concat([d.clear, nonce1])));
  // User data both ways.
  const up = relay.dataRx.unprotect(ue.dataTx.protect(Uint8Array.of(1, 2, 3)));
  assert.ok(up.ok && toHex(up.payload) === '010203');
  const down = ue.dataRx.unprotect(relay.dataTx.protect(Uint8Array.of(9)));
  assert.ok(down.ok && toHex(down.payload) === '09');
  // Replayed uplink PDU is refused.
  const pdu = ue.dataTx.protect(Uint8Array.of(7));
  assert.ok(relay.dataRx.unprotect(pdu).ok);
  assert.equal((relay.dataRx.unprotect(pdu) as { reason: string }).reason, 'replay');
  // Downgrade: the clear NEA id changed to 0 -> the protected copy no longer matches (and keys differ).
  const tampered = m.body.slice();
  tampered[17] = 0;
  const t = decodeDsmcParams(tampered);
  const tk = deriveRelayLinkKeys(
    msk,
    rsc,
    nonce1,
    t.params.nonce2,
    t.params.cipherAlg,
    t.params.integrityAlg,
  );
  const tctx = relayLinkContexts('remote-ue', tk, t.params, { ciphering: false, integrity: true });
  assert.equal(tctx.sigRx.unprotect(t.pdu).ok, false);
  // A UE with another MSK (e.g. an attacker relay without the AAA's MSK) cannot verify it.
  const other = deriveRelayLinkKeys(new Uint8Array(64), rsc, nonce1, nonce2, 2, 2);
  assert.equal(
    relayLinkContexts('remote-ue', other, params, { ciphering: true, integrity: true }).sigRx.unprotect(d.pdu)
      .ok,
    false,
  );
});

test('relay messages: DCR round-trips; wrong version, truncation and bad fields raise RelayMsgError', () => {
  const dcr = decodeRelayMsg(encodeDcr(rsc, nonce1));
  assert.equal(dcr.type, RELAY_MSG.DCR);
  assert.equal(toHex(decodeDcr(dcr.body).nonce1), toHex(nonce1));
  assert.throws(() => decodeRelayMsg(Uint8Array.of(2, 1)), RelayMsgError);
  assert.throws(() => decodeRelayMsg(Uint8Array.of(1)), RelayMsgError);
  assert.throws(() => decodeDcr(new Uint8Array(5)), RelayMsgError);
  assert.throws(() => decodeDsmcParams(new Uint8Array(10)), RelayMsgError);
  const bad = new Uint8Array(30);
  bad[0] = 16; // KSI > 15
  assert.throws(() => decodeDsmcParams(bad), RelayMsgError);
});
