// Testbed PKI: CA and node certificates (ECDSA P-256 / SHA-256) with the fields PC3 relies on, and CRLs.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import tls from 'node:tls';
import {
  certificateSerial,
  createCrl,
  createTestbedCa,
  generateNodeKeyPair,
  issueNodeCertificate,
  nodeUri,
  PkiError,
  parseNodeIdentity,
} from '../../transport/pc3/pki.js';
import { testPki } from './pc3-fixtures.js';

describe('testbed PKI', () => {
  it('creates a P-256 CA certificate that is a CA and self-signed', async () => {
    const ca = await createTestbedCa({ name: 'unit CA', validityDays: 2 });
    const c = new X509Certificate(ca.certPem);
    assert.equal(c.ca, true);
    assert.ok(c.verify(c.publicKey));
    assert.equal(c.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.match(c.subject, /CN=unit CA/);
    const days = (Date.parse(c.validTo) - Date.now()) / 86_400_000;
    assert.ok(days > 1.9 && days <= 2.01);
    await assert.rejects(createTestbedCa({ name: 'bad,name=x' }), PkiError);
  });

  it('issues node certificates with CN/OU, SAN URI + localhost + 127.0.0.1, and client+server EKU', async () => {
    const { ca } = await testPki();
    const kp = generateNodeKeyPair();
    const pem = await issueNodeCertificate(ca, {
      nodeId: 'ue-42',
      role: 'ue',
      publicKeyPem: kp.publicKeyPem,
    });
    const c = new X509Certificate(pem);
    assert.equal(c.ca, false);
    assert.ok(c.checkIssued(new X509Certificate(ca.certPem)));
    assert.ok(c.verify(new X509Certificate(ca.certPem).publicKey));
    assert.match(c.subject, /CN=ue-42/);
    assert.match(c.subject, /OU=ue/);
    assert.match(c.subjectAltName ?? '', /URI:urn:prosec:ue:ue-42/);
    assert.match(c.subjectAltName ?? '', /DNS:localhost/);
    assert.match(c.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
    assert.match(c.subjectAltName ?? '', /DNS:ue-42/);
    assert.deepEqual([...(c.keyUsage ?? [])].sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    assert.equal(c.checkHost('localhost'), 'localhost');
    assert.equal(c.checkIP('127.0.0.1'), '127.0.0.1');
    assert.deepEqual(parseNodeIdentity(pem), { nodeId: 'ue-42', role: 'ue' });
    assert.deepEqual(parseNodeIdentity(c), { nodeId: 'ue-42', role: 'ue' });
    assert.equal(nodeUri('ue', 'ue-42'), 'urn:prosec:ue:ue-42');
    assert.equal(certificateSerial(pem), c.serialNumber.toUpperCase());
  });

  it('refuses bad identifiers and non-P-256 keys', async () => {
    const { ca } = await testPki();
    const kp = generateNodeKeyPair();
    for (const nodeId of ['', 'a b', 'x,OU=kms', 'a:b', 'x'.repeat(65)]) {
      await assert.rejects(
        issueNodeCertificate(ca, { nodeId, role: 'ue', publicKeyPem: kp.publicKeyPem }),
        PkiError,
      );
    }
    await assert.rejects(
      issueNodeCertificate(ca, { nodeId: 'n', role: 'UE', publicKeyPem: kp.publicKeyPem }),
      PkiError,
    );
    const { generateKeyPairSync } = await import('node:crypto');
    const ed = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await assert.rejects(
      issueNodeCertificate(ca, { nodeId: 'n', role: 'ue', publicKeyPem: ed }),
      (e: unknown) => e instanceof PkiError && e.code === 'bad_key',
    );
    await assert.rejects(
      issueNodeCertificate(ca, { nodeId: 'n', role: 'ue', publicKeyPem: 'junk' }),
      PkiError,
    );
  });

  it('parseNodeIdentity refuses certificates that do not name a testbed node', async () => {
    const { ca } = await testPki();
    assert.throws(
      () => parseNodeIdentity(ca.certPem),
      (e: unknown) => e instanceof PkiError && e.code === 'no_identity',
    );
  });

  it('creates CRLs that node:tls accepts (empty or with serials)', async () => {
    const { ca, revoked } = await testPki();
    for (const serials of [[], [certificateSerial(revoked.certPem), '01']]) {
      const crl = await createCrl(ca, serials);
      assert.match(crl, /-----BEGIN X509 CRL-----/);
      assert.doesNotThrow(() => tls.createSecureContext({ ca: ca.certPem, crl }));
    }
    await assert.rejects(createCrl(ca, ['xyz']), PkiError);
  });
});
