// RFC 6509 MIKEY-SAKKE I_MESSAGE and the signed PSK/KEMAC message (GSK under GMK): build, parse, failures.
// ECCSI and SAKKE are stood in for: the "signature" is HMAC-SHA-256 expanded to 129 octets under a per-URI test key,
// enough to check which octets are signed; the SAKKE data is random bytes of the parameter-set-1 size.
import assert from 'node:assert/strict';
import { createHmac, randomBytes as nodeRandomBytes } from 'node:crypto';
import { test } from 'node:test';
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { concatBytes, constantTimeEqual } from '../../crypto-core/bytes.js';
import { CryptoInputError } from '../../crypto-core/errors.js';
import {
  DataType,
  decodeMikey,
  EncrAlg,
  encodeMikey,
  type KeyData,
  KeyDataType,
  MacAlg,
  MikeyDecodeError,
  ntpFromUnixMs,
  PrfFunc,
} from '../../crypto-core/mikey.js';
import {
  aesCm128,
  buildPskMessage,
  buildSakkeIMessage,
  deriveEnvelopeKeys,
  ECCSI_SIGNATURE_LENGTH,
  MikeyMessageError,
  parsePskMessage,
  parseSakkeIMessage,
} from '../../crypto-core/mikey-sakke.js';

const rnd = (n: number) => new Uint8Array(nodeRandomBytes(n));

function fakeSign(uri: string) {
  return (m: Uint8Array) => {
    const tag = createHmac('sha256', `eccsi-test:${uri}`).update(m).digest();
    const out = new Uint8Array(129);
    for (let i = 0; i < 129; i++) out[i] = tag[i % 32]! ^ i;
    return out;
  };
}
const fakeVerify = (signed: Uint8Array, sig: Uint8Array, uri: string) =>
  constantTimeEqual(fakeSign(uri)(signed), sig);

const ALICE = 'tel:+447700900123';
const BOB = 'tel:+447700900456';
const TS = ntpFromUnixMs(Date.UTC(2026, 10, 24, 16, 30));

function iMessage(extra: Partial<Parameters<typeof buildSakkeIMessage>[0]> = {}) {
  const sakkeData = concatBytes(Uint8Array.of(4), rnd(272));
  const rand = rnd(16);
  const bytes = buildSakkeIMessage({
    csbId: 0x1000_0007,
    timestamp: TS,
    rand,
    initiatorUri: ALICE,
    responderUri: BOB,
    kmsUri: 'kms.prosec.example',
    sakkeData,
    sign: fakeSign(ALICE),
    ...extra,
  });
  return { bytes, sakkeData, rand };
}

test('I_MESSAGE: HDR, T, RAND, IDRi, IDRr, IDRkmsi, IDRkmsr, SAKKE, SIGN with the RFC 6509 values', () => {
  const { bytes, sakkeData } = iMessage();
  const m = decodeMikey(bytes);
  assert.equal(m.header.dataType, 26);
  assert.deepEqual(
    m.payloads.map((p) => (p.kind === 'IDR' ? `IDR${p.role}` : p.kind)),
    ['T', 'RAND', 'IDR1', 'IDR2', 'IDR6', 'IDR7', 'SAKKE', 'SIGN'],
  );
  const sakke = m.payloads[6]!;
  assert.ok(
    sakke.kind === 'SAKKE' && sakke.params === 1 && sakke.idScheme === 1 && sakke.data.length === 273,
  );
  const sign = m.payloads[7]!;
  assert.ok(sign.kind === 'SIGN' && sign.sType === 2 && sign.signature.length === ECCSI_SIGNATURE_LENGTH);
  // SIGN header: S type 2 in the top 4 bits, length 129 in the low 12 bits, right before the signature.
  assert.deepEqual(bytes.subarray(bytes.length - 131, bytes.length - 129), Uint8Array.of(0x20, 129));

  const parsed = parseSakkeIMessage(bytes, fakeVerify);
  assert.equal(parsed.csbId, 0x1000_0007);
  assert.equal(parsed.timestamp, TS);
  assert.equal(parsed.initiatorUri, ALICE);
  assert.equal(parsed.responderUri, BOB);
  assert.equal(parsed.initiatorKmsUri, 'kms.prosec.example');
  assert.equal(parsed.responderKmsUri, 'kms.prosec.example');
  assert.deepEqual(parsed.sakkeData, sakkeData);
});

test('the SIGN covers every octet but the Signature field (RFC 3830 5.2), or everything before SIGN on request', () => {
  let seen: Uint8Array | undefined;
  const { bytes } = iMessage({
    sign: (m) => {
      seen = m;
      return fakeSign(ALICE)(m);
    },
  });
  assert.deepEqual(seen, bytes.subarray(0, bytes.length - 129));
  const before = iMessage({
    signCoverage: 'before-sign',
    sign: (m) => {
      seen = m;
      return fakeSign(ALICE)(m);
    },
  }).bytes;
  assert.deepEqual(seen, before.subarray(0, before.length - 131));
  assert.equal(parseSakkeIMessage(before, fakeVerify, { signCoverage: 'before-sign' }).initiatorUri, ALICE);
  assert.throws(() => parseSakkeIMessage(before, fakeVerify), { code: 'signature' });
});

test('I_MESSAGE failures: bad signature, wrong signer, tampering, missing payloads, wrong data type', () => {
  const { bytes } = iMessage();
  assert.throws(
    () => parseSakkeIMessage(bytes, () => false),
    (e) => e instanceof MikeyMessageError && e.code === 'signature',
  );
  // Verified against IDRi, not any other identity.
  let signer = '';
  parseSakkeIMessage(bytes, (s, sig, uri) => {
    signer = uri;
    return fakeVerify(s, sig, uri);
  });
  assert.equal(signer, ALICE);
  const bobSigned = iMessage({ sign: fakeSign(BOB) }).bytes;
  assert.throws(() => parseSakkeIMessage(bobSigned, fakeVerify), { code: 'signature' });
  // Any flipped octet outside the signature breaks it (or the decode).
  for (const i of [3, 8, 20, 60, bytes.length - 140, bytes.length - 131]) {
    const t = bytes.slice();
    t[i]! ^= 1;
    assert.throws(() => parseSakkeIMessage(t, fakeVerify), CryptoInputError);
  }
  // Missing SAKKE.
  const m = decodeMikey(bytes);
  const noSakke = encodeMikey({ ...m, payloads: m.payloads.filter((p) => p.kind !== 'SAKKE') });
  assert.throws(() => parseSakkeIMessage(noSakke, () => true), { code: 'missing_payload' });
  const noIdri = encodeMikey({
    ...m,
    payloads: m.payloads.filter((p) => !(p.kind === 'IDR' && p.role === 1)),
  });
  assert.throws(() => parseSakkeIMessage(noIdri, () => true), { code: 'missing_payload' });
  // Wrong data type.
  const psk = encodeMikey({ ...m, header: { ...m.header, dataType: DataType.PSK_INIT } });
  assert.throws(() => parseSakkeIMessage(psk, () => true), { code: 'data_type' });
  // Malformed bytes are a decode error.
  assert.throws(() => parseSakkeIMessage(bytes.subarray(0, 100), () => true), MikeyDecodeError);
  // A signer returning the wrong size is refused at build time.
  assert.throws(() => iMessage({ sign: () => new Uint8Array(64) }), { code: 'signature_length' });
});

test('I_MESSAGE carries optional KMS URIs and General Extensions', () => {
  const bytes = buildSakkeIMessage({
    csbId: 1,
    timestamp: TS,
    rand: rnd(16),
    initiatorUri: ALICE,
    responderUri: BOB,
    kmsUri: { responder: 'kms-b.example' },
    sakkeData: rnd(273),
    sign: fakeSign(ALICE),
    extensions: [{ type: 7, data: Uint8Array.of(1, 2, 3) }],
  });
  const p = parseSakkeIMessage(bytes, fakeVerify);
  assert.equal(p.initiatorKmsUri, undefined);
  assert.equal(p.responderKmsUri, 'kms-b.example');
  assert.equal(p.idScheme, 1);
  const uid = iMessage({ idScheme: 2 }).bytes;
  assert.equal(parseSakkeIMessage(uid, fakeVerify).idScheme, 2);
  assert.deepEqual(p.extensions, [{ type: 7, data: Uint8Array.of(1, 2, 3) }]);
});

// ---------------------------------------------------------------------------------------------------------

const GMK = rnd(32);
const GMK_ID = Uint8Array.of(0x10, 0, 0, 7);
const GSK: KeyData = {
  type: KeyDataType.TEK,
  key: rnd(16),
  kv: { type: 'SPI', spi: Uint8Array.of(0x20, 0, 0, 1) },
};
const lookup = (id: Uint8Array) => (constantTimeEqual(id, GMK_ID) ? GMK : undefined);

function pskMessage(extra: Partial<Parameters<typeof buildPskMessage>[0]> = {}) {
  return buildPskMessage({
    csbId: 0x2000_0001,
    timestamp: TS,
    rand: rnd(16),
    initiatorUri: 'sip:gms@prosec.example',
    responderUri: 'sip:group-7@prosec.example',
    envelopeKeyId: GMK_ID,
    envelopeKey: GMK,
    keys: [GSK],
    sign: fakeSign('sip:gms@prosec.example'),
    ...extra,
  });
}

test('PSK message: GSK under GMK with AES-CM-128, HMAC-SHA-1-160 and SIGN round-trips', () => {
  const bytes = pskMessage();
  const p = parsePskMessage(bytes, lookup, fakeVerify);
  assert.deepEqual(p.keys, [GSK]);
  assert.equal(p.signed, true);
  assert.equal(p.initiatorUri, 'sip:gms@prosec.example');
  assert.equal(p.responderUri, 'sip:group-7@prosec.example');
  assert.deepEqual(p.envelopeKeyId, GMK_ID);
  assert.equal(p.message.header.dataType, DataType.PSK_INIT);
  assert.deepEqual(
    p.message.payloads.map((x) => (x.kind === 'IDR' ? `IDR${x.role}` : x.kind)),
    ['T', 'RAND', 'IDR1', 'IDR2', 'IDR4', 'KEMAC', 'SIGN'],
  );
});

test('PSK message: KEMAC ciphertext decrypts to the Key Data layout; MAC equals @noble HMAC-SHA-1', () => {
  const bytes = pskMessage();
  const m = decodeMikey(bytes);
  const kemac = m.payloads.find((x) => x.kind === 'KEMAC')!;
  const rand = m.payloads.find((x) => x.kind === 'RAND')!;
  assert.ok(kemac.kind === 'KEMAC' && rand.kind === 'RAND');
  assert.equal(kemac.encrAlg, EncrAlg.AES_CM_128);
  const k = deriveEnvelopeKeys(GMK, 0x2000_0001, rand.rand, PrfFunc.MIKEY_1, MacAlg.HMAC_SHA_1_160);
  // Plain Key Data: next 0, type TEK (2) / KV SPI (1), len 16, key, SPI len 4, SPI.
  const plain = concatBytes(Uint8Array.of(0, 0x21, 0, 16), GSK.key, Uint8Array.of(4, 0x20, 0, 0, 1));
  assert.deepEqual(aesCm128(k.encrKey, k.saltKey, 0x2000_0001, TS, kemac.encrData), plain);
  // MAC over everything up to the MAC field (the message minus SIGN, minus the 20 MAC octets).
  const macEnd = bytes.length - 131 - 20;
  assert.deepEqual(kemac.mac, hmac(sha1, k.authKey, bytes.subarray(0, macEnd)));
});

test('PSK message: SHA-256 PRF and HMAC-SHA-256-256 variant, NULL encryption, unsigned', () => {
  const bytes = pskMessage({
    prfFunc: PrfFunc.HMAC_SHA_256,
    macAlg: MacAlg.HMAC_SHA_256_256,
    encrAlg: EncrAlg.NULL,
    sign: undefined,
  });
  const p = parsePskMessage(bytes, lookup);
  assert.deepEqual(p.keys, [GSK]);
  assert.equal(p.signed, false);
  const kemac = p.message.payloads.find((x) => x.kind === 'KEMAC');
  assert.ok(kemac?.kind === 'KEMAC' && kemac.mac.length === 32);
  // A verifier given means a signature is required.
  assert.throws(() => parsePskMessage(bytes, lookup, fakeVerify), { code: 'missing_payload' });
});

test('PSK message failures: unknown key, MAC, signature, data type', () => {
  const bytes = pskMessage();
  assert.throws(() => parsePskMessage(bytes, () => undefined, fakeVerify), { code: 'unknown_key' });
  assert.throws(() => parsePskMessage(bytes, () => rnd(32), fakeVerify), { code: 'mac' });
  assert.throws(() => parsePskMessage(bytes, lookup, () => false), { code: 'signature' });
  const badSig = bytes.slice();
  badSig[badSig.length - 1]! ^= 1; // the signature is not under the MAC: the MAC passes, the SIGN fails
  assert.throws(() => parsePskMessage(badSig, lookup, fakeVerify), { code: 'signature' });
  assert.throws(() => parsePskMessage(bytes, lookup), { code: 'signature' }); // signed, but no verifier
  const unsigned = pskMessage({ sign: undefined });
  const t = unsigned.slice();
  t[t.length - 25]! ^= 0x80; // inside the encrypted Key Data
  assert.throws(() => parsePskMessage(t, lookup), { code: 'mac' });
  const m = decodeMikey(unsigned);
  const sakkeType = encodeMikey({ ...m, header: { ...m.header, dataType: DataType.SAKKE } });
  assert.throws(() => parsePskMessage(sakkeType, lookup), { code: 'data_type' });
  assert.equal(parsePskMessage(unsigned, lookup).signed, false);
});
