import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromHex, toHex } from '../../crypto-core/bytes.js';
import { CryptoInputError } from '../../crypto-core/errors.js';
import {
  encodeIdentity,
  identityFor,
  keyPeriodStart,
  kmsCheckIdentity,
  parseIdentity,
  validateIdentityUri,
} from '../../crypto-core/rfc6509-identity.js';
import { loadVectors } from '../helpers/paths.js';

const eccsi = loadVectors<{ vectors: Record<string, string>[] }>('eccsi_rfc6507.json').vectors[0]!;
const sakke = loadVectors<{ vectors: Record<string, string>[] }>('sakke_rfc6508.json').vectors[0]!;

test('encoding "2011-02" + tel:+447700900123 gives the identifier of the RFC 6507 and RFC 6508 appendices', () => {
  const id = encodeIdentity({ periodStart: '2011-02', uri: 'tel:+447700900123' });
  assert.equal(toHex(id), eccsi.ID);
  assert.equal(toHex(id), sakke.b);
  assert.deepEqual(parseIdentity(fromHex(sakke.b!)), { periodStart: '2011-02', uri: 'tel:+447700900123' });
});

test('key period start follows the KMS setting (monthly, quarterly with offset)', () => {
  const now = new Date(Date.UTC(2026, 10, 24, 16, 0, 0)); // 2026-11-24
  assert.equal(keyPeriodStart(now), '2026-11');
  assert.equal(keyPeriodStart(now, { lengthMonths: 3 }), '2026-10');
  assert.equal(keyPeriodStart(now, { lengthMonths: 3, offsetMonths: 1 }), '2026-11');
  assert.equal(keyPeriodStart(now, { lengthMonths: 12 }), '2026-01');
  assert.equal(
    keyPeriodStart(new Date(Date.UTC(2026, 0, 1)), { lengthMonths: 6, offsetMonths: 2 }),
    '2025-09',
  );
  assert.equal(
    new TextDecoder().decode(identityFor('sip:alice@prosec.test', now)),
    '2026-11\0sip:alice@prosec.test\0',
  );
});

test('URIs: tel:+E.164, sip:/sips: user@host and prose-ue: ids are accepted; malformed ones rejected', () => {
  for (const ok of ['tel:+447700900123', 'sip:ue1@example.org', 'sips:a.b@h:5061', 'prose-ue:0a1b2c3d'])
    validateIdentityUri(ok);
  for (const bad of [
    'tel:447700900123',
    'tel:+12345678901234567',
    'sip:nohost',
    'mailto:a@b',
    'prose-ue:',
    '',
    'tel:+1\0',
  ]) {
    assert.throws(() => validateIdentityUri(bad), CryptoInputError, bad);
  }
});

test('parsing rejects a missing NUL, a bad month and a bad URI', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.throws(() => parseIdentity(enc('2011-02\0tel:+447700900123')), { code: 'identity_format' });
  assert.throws(() => parseIdentity(enc('2011-13\0tel:+447700900123\0')), { code: 'identity_period' });
  assert.throws(() => parseIdentity(enc('2011-02 tel:+447700900123\0')), { code: 'identity_format' });
  assert.throws(() => parseIdentity(enc('2011-02\0ftp:x\0')), { code: 'identity_uri' });
});

test('KMS check accepts the current period (and the next one when allowed), rejects others', () => {
  const now = new Date(Date.UTC(2026, 10, 24));
  const cur = identityFor('tel:+447700900123', now);
  assert.equal(kmsCheckIdentity(cur, now).uri, 'tel:+447700900123');
  const next = encodeIdentity({ periodStart: '2026-12', uri: 'tel:+447700900123' });
  assert.throws(() => kmsCheckIdentity(next, now), { code: 'identity_period' });
  assert.equal(kmsCheckIdentity(next, now, { lengthMonths: 1 }, true).periodStart, '2026-12');
  const old = encodeIdentity({ periodStart: '2011-02', uri: 'tel:+447700900123' });
  assert.throws(() => kmsCheckIdentity(old, now), { code: 'identity_period' });
});
