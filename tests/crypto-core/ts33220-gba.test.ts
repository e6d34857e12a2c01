// TS 33.220 B.3 Ks_(ext)_NAF: no official vector exists (see ../shared/vectors/kdf_ts33220.json source note), so
// the derivation is checked against an independent construction of the B.2 input string over node:crypto's
// HMAC-SHA-256, with CK and IK taken from the official TS 35.208 Milenage test set 1.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { fromHex, toHex } from '../../crypto-core/bytes.js';
import { CryptoInputError } from '../../crypto-core/errors.js';
import { deriveKsNaf, nafId } from '../../crypto-core/ts33220-gba.js';
import { loadVectors } from '../helpers/paths.js';

const m = loadVectors<{ vectors: { rand: string; f3: string; f4: string }[] }>('milenage_ts35208.json')
  .vectors[0]!;

/** Independent S = FC || P0 || L0 || ... (TS 33.220 B.2.1), written out with Buffer. */
function independentKsNaf(ck: string, ik: string, rand: string, impi: string, naf: Buffer): string {
  const p = [Buffer.from('gba-me'), Buffer.from(rand, 'hex'), Buffer.from(impi), naf];
  const parts: Buffer[] = [Buffer.of(0x01)];
  for (const x of p) parts.push(x, Buffer.of(x.length >> 8, x.length & 0xff));
  return createHmac('sha256', Buffer.from(ck + ik, 'hex'))
    .update(Buffer.concat(parts))
    .digest('hex');
}

test('TS 33.220 B.3 Ks_NAF from the TS 35.208 set 1 CK/IK matches an independent HMAC-SHA-256 construction', () => {
  const impi = '001010000000001@ims.mnc001.mcc001.3gppnetwork.org';
  const naf = nafId('keyserver.prosec.test', Uint8Array.of(0xff, 0, 0, 0, 1));
  assert.equal(toHex(naf), `${Buffer.from('keyserver.prosec.test').toString('hex')}ff00000001`);
  const k = deriveKsNaf(fromHex(m.f3), fromHex(m.f4), fromHex(m.rand), impi, naf);
  assert.equal(toHex(k), independentKsNaf(m.f3, m.f4, m.rand, impi, Buffer.from(naf)));
  // Every input changes the key.
  const other = deriveKsNaf(fromHex(m.f3), fromHex(m.f4), fromHex(m.rand), `x${impi}`, naf);
  assert.notEqual(toHex(other), toHex(k));
  assert.throws(
    () => deriveKsNaf(new Uint8Array(15), fromHex(m.f4), fromHex(m.rand), impi, naf),
    CryptoInputError,
  );
  assert.throws(() => nafId('Bad Name', Uint8Array.of(1, 2, 3, 4, 5)), CryptoInputError);
  assert.throws(() => nafId('ok.test', Uint8Array.of(1)), CryptoInputError);
});
