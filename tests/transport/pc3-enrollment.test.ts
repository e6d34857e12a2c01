// Node enrollment with the KMS: token = HMAC-SHA-256(secret, role || 0x00 || nodeId); good tokens get a certificate
// that works for PC3, bad ones a clear rejection that never echoes the token.
import assert from 'node:assert/strict';
import { createHmac, randomBytes, X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Pc3Client } from '../../transport/pc3/client.js';
import {
  computeEnrollmentToken,
  EnrollmentError,
  type EnrollmentServer,
  enroll,
  startEnrollmentServer,
  verifyEnrollmentToken,
} from '../../transport/pc3/enrollment.js';
import { CountingMetrics } from '../../transport/pc3/metrics.js';
import { parseNodeIdentity } from '../../transport/pc3/pki.js';
import { type Pc3Peer, Pc3Server } from '../../transport/pc3/server.js';
import { exampleConfig, type TestPki, testPki } from './pc3-fixtures.js';

describe('enrollment token', () => {
  it('is HMAC-SHA-256(secret, role || 0x00 || nodeId) in lower-case hex', () => {
    const secret = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
    const expected = createHmac('sha256', secret).update(Buffer.from('ue\x00ue-1', 'latin1')).digest('hex');
    assert.equal(computeEnrollmentToken(secret, 'ue', 'ue-1'), expected);
    assert.match(expected, /^[0-9a-f]{64}$/);
    // The separator keeps (role, nodeId) pairs apart.
    assert.notEqual(computeEnrollmentToken(secret, 'u', 'e1'), computeEnrollmentToken(secret, 'ue', '1'));
    assert.ok(verifyEnrollmentToken(secret, 'ue', 'ue-1', expected));
    assert.ok(!verifyEnrollmentToken(secret, 'ue', 'ue-2', expected));
    assert.ok(!verifyEnrollmentToken(secret, 'ue', 'ue-1', expected.slice(0, 62)));
    assert.ok(!verifyEnrollmentToken(secret, 'ue', 'ue-1', expected.toUpperCase()));
  });

  it('refuses short secrets and invalid identifiers', () => {
    assert.throws(() => computeEnrollmentToken('short', 'ue', 'ue-1'), /at least 16 octets/);
    assert.throws(() => computeEnrollmentToken(randomBytes(32), 'UE', 'ue-1'), /role/);
    assert.throws(() => computeEnrollmentToken(randomBytes(32), 'ue', 'ue\x001'), /node id/);
  });
});

describe('enrollment with the KMS over TLS', () => {
  let pki: TestPki;
  let kms: EnrollmentServer;
  const secret = randomBytes(32);
  const metrics = new CountingMetrics();
  const enrolled: string[] = [];

  before(async () => {
    pki = await testPki();
    kms = await startEnrollmentServer({
      ca: pki.ca,
      secret,
      metrics,
      allowedRoles: ['ue', 'prose-function'],
      onEnrolled: (i) => enrolled.push(`${i.role}/${i.nodeId}/${i.serialNumber}`),
    });
  });

  after(async () => {
    await kms.close();
  });

  const base = () => ({ host: '127.0.0.1', port: kms.port, caCertPem: pki.ca.certPem });

  it('a good token yields a certificate that works for PC3 mutual TLS', async () => {
    const pf = await enroll({
      ...base(),
      nodeId: 'pf-7',
      role: 'prose-function',
      token: computeEnrollmentToken(secret, 'prose-function', 'pf-7'),
    });
    const ue = await enroll({
      ...base(),
      nodeId: 'ue-7',
      role: 'ue',
      token: computeEnrollmentToken(secret, 'ue', 'ue-7'),
    });
    assert.deepEqual(parseNodeIdentity(ue.certPem), { nodeId: 'ue-7', role: 'ue' });
    assert.ok(
      new X509Certificate(ue.certPem).checkPrivateKey(
        (await import('node:crypto')).createPrivateKey(ue.privateKeyPem),
      ),
    );
    assert.equal(metrics.get('pc3_enrollments_total', { result: 'ok' }), 2);
    assert.equal(enrolled.length, 2);
    assert.match(enrolled[1]!, /^ue\/ue-7\/[0-9A-F]+$/);

    const peers: Pc3Peer[] = [];
    const server = new Pc3Server({
      certPem: pf.certPem,
      keyPem: pf.privateKeyPem,
      caCertPem: pf.caCertPem,
      handler: (_msg, peer) => {
        peers.push(peer);
        return { type: 'register_accept', body: { config: exampleConfig(peer.nodeId) } };
      },
    });
    const { port } = await server.listen();
    const client = new Pc3Client({
      host: '127.0.0.1',
      port,
      certPem: ue.certPem,
      keyPem: ue.privateKeyPem,
      caCertPem: ue.caCertPem,
      expectedServer: { role: 'prose-function', nodeId: 'pf-7' },
    });
    try {
      const r = await client.request('register_request', { ueId: 'ue-7' });
      assert.equal(r.type, 'register_accept');
      assert.equal(peers[0]?.nodeId, 'ue-7');
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('a bad token is rejected with cause bad_token, counted, and never echoed', async () => {
    const wrong = computeEnrollmentToken(randomBytes(32), 'ue', 'ue-8');
    const otherNode = computeEnrollmentToken(secret, 'ue', 'ue-1'); // valid token of another node
    const otherRole = computeEnrollmentToken(secret, 'prose-function', 'ue-8'); // same node, other role
    for (const token of [wrong, otherNode, otherRole]) {
      const err = await enroll({ ...base(), nodeId: 'ue-8', role: 'ue', token }).then(
        () => assert.fail('enrollment should fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof EnrollmentError);
      assert.equal(err.code, 'bad_token');
      assert.match(err.message, /token does not match node ue-8/);
      const text = `${err.message} ${String(err.stack)} ${JSON.stringify(err)}`;
      assert.ok(!text.includes(token), 'the token must not appear in the error');
      assert.ok(!text.includes(secret.toString('hex')));
    }
    assert.equal(metrics.get('pc3_enrollments_total', { result: 'rejected', cause: 'bad_token' }), 3);
  });

  it('a malformed token is refused locally without echoing it', async () => {
    const token = 'not-a-token-but-a-secret-value';
    const err = await enroll({ ...base(), nodeId: 'ue-8', role: 'ue', token }).catch((e: unknown) => e);
    assert.ok(err instanceof EnrollmentError);
    assert.equal(err.code, 'malformed');
    assert.ok(!err.message.includes(token));
  });

  it('roles outside allowedRoles are refused (not_allowed)', async () => {
    const err = await enroll({
      ...base(),
      nodeId: 'kms-2',
      role: 'kms',
      token: computeEnrollmentToken(secret, 'kms', 'kms-2'),
    }).catch((e: unknown) => e);
    assert.ok(err instanceof EnrollmentError);
    assert.equal(err.code, 'not_allowed');
  });

  it('a node given another CA does not trust the KMS (connect_failed) and sends nothing', async () => {
    const before = metrics.get('pc3_enrollments_total');
    const err = await enroll({
      ...base(),
      caCertPem: pki.otherCa.certPem,
      nodeId: 'ue-8',
      role: 'ue',
      token: computeEnrollmentToken(secret, 'ue', 'ue-8'),
    }).catch((e: unknown) => e);
    assert.ok(err instanceof EnrollmentError);
    assert.equal(err.code, 'connect_failed');
    assert.equal(metrics.get('pc3_enrollments_total'), before);
  });

  it('the node checks that the enrollment server is the KMS', async () => {
    const err = await enroll({
      ...base(),
      nodeId: 'ue-8',
      role: 'ue',
      token: computeEnrollmentToken(secret, 'ue', 'ue-8'),
      expectedServerRole: 'prose-function',
    }).catch((e: unknown) => e);
    assert.ok(err instanceof EnrollmentError);
    assert.equal(err.code, 'server_identity');
  });
});
