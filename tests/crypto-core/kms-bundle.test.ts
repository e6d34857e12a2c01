import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CryptoInputError } from '../../crypto-core/errors.js';
import {
  generateKmsMasterKeys,
  issueBundle,
  KmsBundleError,
  parseBundle,
  serializeBundle,
  validateBundle,
} from '../../crypto-core/kms-bundle.js';
import { eccsiSign, eccsiVerify } from '../../crypto-core/rfc6507-eccsi.js';
import { sakkeDecapsulate, sakkeEncapsulate } from '../../crypto-core/rfc6508-sakke.js';
import { identityFor } from '../../crypto-core/rfc6509-identity.js';

const now = new Date(Date.UTC(2026, 10, 24, 16, 30));
const master = generateKmsMasterKeys('kms.prosec.test');
const alice = identityFor('tel:+447700900123', now);
const bob = identityFor('prose-ue:00ab12cd', now);
const bundleA = issueBundle(master, alice, now);

test('an issued bundle survives JSON serialisation and validates on the UE (SSK and RSK checks)', () => {
  const json = serializeBundle(bundleA);
  const parsed = parseBundle(json);
  assert.deepEqual(parsed, bundleA);
  validateBundle(parsed, now);
  assert.equal(JSON.parse(json).version, 1);
});

test('bundle keys work end to end: SAKKE to the UE and ECCSI from it', () => {
  const bundleB = issueBundle(master, bob, now);
  validateBundle(bundleB);
  const ssv = new Uint8Array(16).fill(7);
  const ed = sakkeEncapsulate(ssv, bob, bundleA.Z_S);
  assert.deepEqual(sakkeDecapsulate(ed, bob, bundleB.RSK, bundleB.Z_S), ssv);
  const msg = new TextEncoder().encode('I_MESSAGE');
  const sig = eccsiSign(msg, alice, bundleA.SSK, bundleA.PVT, bundleA.KPAK);
  assert.equal(eccsiVerify(msg, sig, alice, bundleB.KPAK), true);
});

test('validation rejects a wrong SSK, a wrong RSK, another KMS key and an out-of-period identity', () => {
  const badSsk = { ...bundleA, SSK: bundleA.SSK.slice() };
  badSsk.SSK[0]! ^= 1;
  assert.throws(
    () => validateBundle(badSsk),
    (e) => e instanceof KmsBundleError && e.code === 'ssk_invalid',
  );
  const bundleB = issueBundle(master, bob, now);
  assert.throws(() => validateBundle({ ...bundleA, RSK: bundleB.RSK }), { code: 'rsk_invalid' });
  const other = generateKmsMasterKeys('kms2.prosec.test');
  assert.throws(() => validateBundle({ ...bundleA, Z_S: other.Z_S }), { code: 'rsk_invalid' });
  assert.throws(() => validateBundle({ ...bundleA, KPAK: other.KPAK }), { code: 'ssk_invalid' });
  assert.throws(() => validateBundle(bundleA, new Date(Date.UTC(2027, 3, 1))), { code: 'identity_period' });
  assert.throws(
    () => issueBundle(master, identityFor('tel:+447700900123', new Date(Date.UTC(2025, 0, 1))), now),
    {
      code: 'identity_period',
    },
  );
});

test('parsing rejects malformed JSON, unknown versions and wrong field lengths', () => {
  const json = JSON.parse(serializeBundle(bundleA));
  assert.throws(() => parseBundle('{'), KmsBundleError);
  assert.throws(() => parseBundle(JSON.stringify({ ...json, version: 2 })), { code: 'bundle_version' });
  assert.throws(() => parseBundle(JSON.stringify({ ...json, RSK: json.RSK.slice(2) })), {
    code: 'bundle_field',
  });
  assert.throws(() => parseBundle(JSON.stringify({ ...json, SSK: 'zz' })), CryptoInputError);
});
