// RFC 3830 / RFC 6043 / RFC 6509 MIKEY codec: byte layout, round trips, decoder rejections, PRF, AES-CM, MAC.
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes as nodeRandomBytes } from 'node:crypto';
import { test } from 'node:test';
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, fromHex, toHex } from '../../crypto-core/bytes.js';
import { CryptoInputError } from '../../crypto-core/errors.js';
import {
  DataType,
  decodeKeyData,
  decodeMikey,
  encodeKeyData,
  encodeMikey,
  type KeyData,
  KeyDataType,
  MacAlg,
  MikeyDecodeError,
  ntpFromUnixMs,
  ntpToUnixMs,
  PrfFunc,
  TsType,
} from '../../crypto-core/mikey.js';
import {
  aesCm128,
  deriveEnvelopeKeys,
  deriveTek,
  MIKEY_CONST,
  mikeyLabel,
  mikeyPrf,
} from '../../crypto-core/mikey-sakke.js';
import { fullMessages, SMALL, SMALL_HEX } from './mikey-samples.js';

const randomBytes = (n: number) => new Uint8Array(nodeRandomBytes(n));

function codeOf(bytes: Uint8Array, opts?: { maxLength?: number }): string {
  try {
    decodeMikey(bytes, opts);
  } catch (e) {
    assert.ok(e instanceof MikeyDecodeError, `expected MikeyDecodeError, got ${e}`);
    assert.ok(e instanceof CryptoInputError);
    return e.code;
  }
  return 'ok';
}

test('encodeMikey produces the RFC byte layout, and decodeMikey reads it back', () => {
  const bytes = encodeMikey(SMALL);
  assert.equal(toHex(bytes), SMALL_HEX.replace(/\s+/g, ''));
  assert.deepEqual(decodeMikey(fromHex(SMALL_HEX)), SMALL);
  // A Buffer input gives plain, unaliased Uint8Array fields.
  const buf = Buffer.from(bytes);
  const fromBuf = decodeMikey(buf);
  assert.deepEqual(fromBuf, SMALL);
  buf.fill(0);
  assert.deepEqual(fromBuf, SMALL);
});

test('every payload kind and CS ID map type round-trips canonically', () => {
  for (const m of fullMessages()) {
    const bytes = encodeMikey(m);
    const back = decodeMikey(bytes);
    assert.deepEqual(back, m);
    assert.deepEqual(encodeMikey(back), bytes);
  }
});

test('Key Data sub-payloads (TGK/TEK/+SALT, KV SPI and interval) round-trip', () => {
  const keys: KeyData[] = [
    { type: KeyDataType.TGK, key: randomBytes(16), kv: { type: 'SPI', spi: Uint8Array.of(1, 2, 3, 4) } },
    { type: KeyDataType.TGK_SALT, key: randomBytes(16), salt: randomBytes(14), kv: { type: 'NULL' } },
    {
      type: KeyDataType.TEK,
      key: randomBytes(32),
      kv: { type: 'INTERVAL', validFrom: randomBytes(6), validTo: randomBytes(6) },
    },
  ];
  const bytes = encodeKeyData(keys);
  assert.equal(bytes[0], 20); // next payload: Key Data
  assert.equal(bytes[1], (KeyDataType.TGK << 4) | 1); // type TGK, KV SPI
  assert.deepEqual(decodeKeyData(bytes), keys);
  assert.throws(() => decodeKeyData(concatBytes(bytes, Uint8Array.of(0))), { code: 'trailing' });
  assert.throws(() => decodeKeyData(bytes.subarray(0, bytes.length - 1)), { code: 'truncated' });
  assert.throws(
    () =>
      encodeKeyData([
        { type: KeyDataType.TEK, key: randomBytes(16), salt: randomBytes(14), kv: { type: 'NULL' } },
      ]),
    CryptoInputError,
  );
});

test('decoder rejections carry typed codes', () => {
  const good = fromHex(SMALL_HEX);
  const edit = (i: number, v: number) => {
    const b = good.slice();
    b[i] = v;
    return b;
  };
  assert.equal(codeOf(good), 'ok');
  assert.equal(codeOf(good.subarray(0, 5)), 'truncated');
  assert.equal(codeOf(good.subarray(0, good.length - 1)), 'truncated');
  assert.equal(codeOf(concatBytes(good, Uint8Array.of(0))), 'trailing');
  assert.equal(codeOf(good, { maxLength: good.length - 1 }), 'oversized');
  assert.equal(codeOf(new Uint8Array(65_537)), 'oversized');
  assert.equal(codeOf(edit(0, 2)), 'version');
  assert.equal(codeOf(edit(1, 99)), 'unknown_value'); // data type
  assert.equal(codeOf(edit(2, 3)), 'unknown_payload'); // DH payload is not supported
  assert.equal(codeOf(edit(2, 200)), 'unknown_payload');
  assert.equal(codeOf(edit(3, 5)), 'unknown_value'); // PRF func
  assert.equal(codeOf(edit(9, 9)), 'unknown_value'); // CS ID map type
  assert.equal(codeOf(edit(11, 7)), 'unknown_value'); // TS type
  // T says its next payload is T again: the RAND bytes are parsed as a second T -> duplicate.
  assert.equal(codeOf(edit(10, 5)), 'duplicate');
  // RAND declares a length running past the end.
  assert.equal(codeOf(edit(21, 200)), 'truncated');
  // Last payload before SIGN says "last": SIGN bytes become trailing.
  const sakkeNext = 10 + 10 + 6 + 8;
  assert.equal(good[sakkeNext], 4);
  assert.equal(codeOf(edit(sakkeNext, 0)), 'trailing');
  // SIGN S type 3 is unknown.
  assert.equal(codeOf(edit(good.length - 5, 0x30)), 'unknown_value');
  // SAKKE params / ID scheme other than 1.
  assert.equal(codeOf(edit(sakkeNext + 1, 2)), 'unknown_value');
  assert.equal(codeOf(edit(sakkeNext + 2, 0)), 'unknown_value');
  assert.equal(codeOf(edit(sakkeNext + 2, 3)), 'unknown_value');
  assert.equal(codeOf(edit(sakkeNext + 2, 2)), 'ok'); // MIKEY-SAKKE-UID scheme of TS 33.180
  // Two IDRi payloads.
  const twoIdr = structuredClone(SMALL);
  twoIdr.payloads.splice(2, 0, twoIdr.payloads[2]!);
  assert.equal(codeOf(encodeMikey(twoIdr)), 'duplicate');
  // Two SAKKE payloads.
  const twoSakke = structuredClone(SMALL);
  twoSakke.payloads.splice(3, 0, twoSakke.payloads[3]!);
  assert.equal(codeOf(encodeMikey(twoSakke)), 'duplicate');
  // ERR reserved bits.
  const err = encodeMikey({
    header: { ...SMALL.header, dataType: DataType.ERROR },
    payloads: [{ kind: 'ERR', errNo: 1 }],
  });
  const errBad = err.slice();
  errBad[errBad.length - 1] = 1;
  assert.equal(codeOf(err), 'ok');
  assert.equal(codeOf(errBad), 'reserved');
  // Not bytes at all.
  assert.equal(codeOf('abc' as unknown as Uint8Array), 'type');
});

test('encoder refuses values that do not fit their fields', () => {
  assert.throws(() => encodeMikey({ ...SMALL, payloads: [SMALL.payloads[4]!, SMALL.payloads[0]!] }), {
    code: 'order',
  });
  assert.throws(
    () => encodeMikey({ ...SMALL, payloads: [{ kind: 'RAND', rand: new Uint8Array(256) }] }),
    CryptoInputError,
  );
  assert.throws(
    () => encodeMikey({ ...SMALL, payloads: [{ kind: 'SIGN', sType: 2, signature: new Uint8Array(4096) }] }),
    CryptoInputError,
  );
  assert.throws(
    () => encodeMikey({ ...SMALL, payloads: [{ kind: 'T', tsType: TsType.COUNTER, value: 1n << 32n }] }),
    CryptoInputError,
  );
  assert.throws(
    () => encodeMikey({ ...SMALL, header: { ...SMALL.header, csbId: 2 ** 32 } }),
    CryptoInputError,
  );
  assert.throws(
    () =>
      encodeMikey({
        ...SMALL,
        payloads: [
          { kind: 'KEMAC', encrAlg: 0, encrData: new Uint8Array(0), macAlg: 1, mac: new Uint8Array(19) },
        ],
      }),
    CryptoInputError,
  );
});

test('NTP-UTC timestamps convert to and from Unix time', () => {
  const ms = Date.UTC(2026, 10, 24, 16, 30, 0, 250);
  const ntp = ntpFromUnixMs(ms);
  assert.equal(ntp >> 32n, BigInt(ms / 1000 - 0.25) + 2_208_988_800n);
  assert.equal(ntp & 0xffffffffn, 1n << 30n); // 0.25 s
  assert.equal(ntpToUnixMs(ntp), ms);
});

// Independent straightforward MIKEY PRF (RFC 3830 4.1.2) on @noble/hashes, written from the RFC text.
function refPrf(
  inkey: Uint8Array,
  label: Uint8Array,
  outLen: number,
  h: typeof sha1 | typeof sha256,
): Uint8Array {
  const hl = h === sha1 ? 20 : 32;
  const m = Math.ceil(outLen / hl);
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < inkey.length; i += 32) pieces.push(inkey.slice(i, i + 32));
  const acc = new Uint8Array(m * hl);
  for (const s of pieces) {
    const blocks: Uint8Array[] = [];
    let a = label;
    for (let i = 1; i <= m; i++) {
      a = hmac(h, s, a);
      blocks.push(hmac(h, s, concatBytes(a, label)));
    }
    const p = concatBytes(...blocks);
    for (let i = 0; i < acc.length; i++) acc[i]! ^= p[i]!;
  }
  return acc.slice(0, outLen);
}

test('MIKEY PRF-HMAC-SHA-256 reproduces the published TLS 1.2 P_SHA256 vector (one inkey piece)', () => {
  // The TLS 1.2 PRF test vector circulated on the IETF TLS list: P_SHA256(secret, "test label" || seed).
  // MIKEY's P function with a single inkey piece of at most 256 bits and HMAC-SHA-256 is the same construction.
  const secret = fromHex('9bbe436ba940f017b17652849a71db35');
  const label = concatBytes(
    new TextEncoder().encode('test label'),
    fromHex('a0ba9f936cda311827a6f796ffd5198c'),
  );
  const expected =
    'e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af' +
    '0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66';
  assert.equal(toHex(mikeyPrf(secret, label, 100, PrfFunc.HMAC_SHA_256)), expected);
});

test('MIKEY PRF matches an independent implementation (MIKEY-1 and SHA-256, multi-piece inkeys)', () => {
  for (const inLen of [1, 16, 32, 33, 64, 65, 100]) {
    for (const outLen of [1, 14, 16, 20, 21, 32, 40, 61]) {
      const inkey = randomBytes(inLen);
      const label = mikeyLabel(MIKEY_CONST.TEK, 0, 0x01020304, randomBytes(16));
      assert.deepEqual(mikeyPrf(inkey, label, outLen, 0), refPrf(inkey, label, outLen, sha1));
      assert.deepEqual(mikeyPrf(inkey, label, outLen, 1), refPrf(inkey, label, outLen, sha256));
    }
  }
  assert.throws(() => mikeyPrf(new Uint8Array(0), new Uint8Array(1), 16), CryptoInputError);
});

test('envelope keys and TEK use the RFC 3830 constants and labels', () => {
  const env = randomBytes(32);
  const rand = randomBytes(16);
  const k = deriveEnvelopeKeys(env, 0xabcdef01, rand, 0, MacAlg.HMAC_SHA_1_160);
  const label = (c: number) =>
    concatBytes(fromHex(c.toString(16).padStart(8, '0')), fromHex('ff abcdef01'), rand);
  assert.deepEqual(k.encrKey, refPrf(env, label(0x150533e1), 16, sha1));
  assert.deepEqual(k.authKey, refPrf(env, label(0x2d22ac75), 20, sha1));
  assert.deepEqual(k.saltKey, refPrf(env, label(0x39a2c14b), 14, sha1));
  assert.equal(deriveEnvelopeKeys(env, 1, rand, 1, MacAlg.HMAC_SHA_256_256).authKey.length, 32);
  const tgk = randomBytes(16);
  assert.deepEqual(
    deriveTek(tgk, 3, 7, rand, 16),
    refPrf(tgk, concatBytes(fromHex('2ad01c64 03 00000007'), rand), 16, sha1),
  );
});

test('AES-CM-128 equals AES-ECB keystream over the RFC 3830 4.2.3 IV and node AES-128-CTR', () => {
  const key = randomBytes(16);
  const salt = randomBytes(14);
  const csbId = 0x11223344;
  const ts = 0xe5a1b2c3d4e5f607n;
  const data = randomBytes(53);
  const out = aesCm128(key, salt, csbId, ts, data);
  // IV = (S XOR (0x0000 || CSB ID || T)) || 0x0000, counter in the last 16 bits.
  const iv = new Uint8Array(16);
  const mix = fromHex('0000 11223344 e5a1b2c3d4e5f607');
  for (let i = 0; i < 14; i++) iv[i] = salt[i]! ^ mix[i]!;
  const ecb = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  const stream: Uint8Array[] = [];
  for (let j = 0; j < 4; j++) {
    const block = iv.slice();
    block[15] = j;
    stream.push(new Uint8Array(ecb.update(block)));
  }
  const ks = concatBytes(...stream);
  assert.deepEqual(
    out,
    data.map((b, i) => b ^ ks[i]!),
  );
  const ctr = createCipheriv('aes-128-ctr', key, iv);
  assert.deepEqual(out, new Uint8Array(Buffer.concat([ctr.update(data), ctr.final()])));
  assert.deepEqual(aesCm128(key, salt, csbId, ts, out), data);
});
