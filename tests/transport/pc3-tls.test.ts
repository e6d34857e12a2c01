// PC3 over real TLS 1.3 on loopback: mutual authentication, rejection of bad certificates, message handling.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { Pc3Client, Pc3RequestError } from '../../transport/pc3/client.js';
import type { Pc3Message, Pc3Reply } from '../../transport/pc3/messages.js';
import { CountingMetrics } from '../../transport/pc3/metrics.js';
import { certificateSerial, createCrl } from '../../transport/pc3/pki.js';
import { type Pc3Peer, Pc3Server, type Pc3ServerOptions } from '../../transport/pc3/server.js';
import { type Creds, exampleConfig, RawClient, type TestPki, testPki, waitFor } from './pc3-fixtures.js';

/** A ProSe-Function-like handler: registers UEs whose ueId matches their certificate. */
function handler(seen: Array<{ msg: Pc3Message; peer: Pc3Peer }>) {
  return async (msg: Pc3Message, peer: Pc3Peer): Promise<Pc3Reply | undefined> => {
    seen.push({ msg, peer });
    switch (msg.type) {
      case 'register_request':
        if (msg.body.ueId !== peer.nodeId) {
          return {
            type: 'register_reject',
            body: { cause: 'identity_mismatch', detail: 'ueId is not the cert' },
          };
        }
        return { type: 'register_accept', body: { config: exampleConfig(peer.nodeId) } };
      case 'config_request':
        if (peer.nodeId === 'ue-2') {
          await new Promise((r) => setTimeout(r, 30));
        }
        return { type: 'config_response', body: { config: exampleConfig(peer.nodeId) } };
      default:
        return { type: 'error', body: { cause: 'unexpected_message', detail: msg.type } };
    }
  };
}

describe('PC3 mutual TLS', () => {
  let pki: TestPki;
  let server: Pc3Server;
  let port: number;
  const metrics = new CountingMetrics();
  const seen: Array<{ msg: Pc3Message; peer: Pc3Peer }> = [];
  const clients: Pc3Client[] = [];

  function client(creds: Creds, extra: Partial<ConstructorParameters<typeof Pc3Client>[0]> = {}): Pc3Client {
    const c = new Pc3Client({
      host: '127.0.0.1',
      port,
      certPem: creds.certPem,
      keyPem: creds.keyPem,
      caCertPem: pki.ca.certPem,
      expectedServer: { role: 'prose-function' },
      ...extra,
    });
    clients.push(c);
    return c;
  }

  before(async () => {
    pki = await testPki();
    const opts: Pc3ServerOptions = {
      certPem: pki.pf.certPem,
      keyPem: pki.pf.keyPem,
      caCertPem: pki.ca.certPem,
      crlPem: pki.crlPem,
      handler: handler(seen),
      metrics,
      maxMessageBytes: 64 * 1024,
      maxInvalidPerConnection: 3,
    };
    server = new Pc3Server(opts);
    port = (await server.listen()).port;
  });

  after(async () => {
    for (const c of clients) await c.close();
    await server.close();
  });

  it('registers a UE with a CA-issued certificate; the server knows its nodeId and role from the cert', async () => {
    const c = client(pki.ue1);
    const res = await c.request('register_request', { ueId: 'ue-1', capabilities: ['discovery'] });
    assert.equal(res.type, 'register_accept');
    assert.equal(res.type === 'register_accept' && res.body.config.ueId, 'ue-1');
    const last = seen.at(-1)!;
    assert.equal(last.peer.nodeId, 'ue-1');
    assert.equal(last.peer.role, 'ue');
    assert.equal(last.peer.remoteAddress, '127.0.0.1');
    assert.match(last.peer.serialNumber, /^[0-9A-F]+$/);
    assert.deepEqual(c.serverIdentity, { nodeId: 'pf-1', role: 'prose-function' });
    // The identity in the message is checked against the certificate by the handler.
    const bad = await c.request('register_request', { ueId: 'ue-2' });
    assert.equal(bad.type, 'register_reject');
    assert.equal(bad.type === 'register_reject' && bad.body.cause, 'identity_mismatch');
    assert.ok(metrics.get('pc3_handshakes_total', { result: 'ok' }) >= 1);
    assert.equal(
      metrics.get('pc3_messages_total', { direction: 'in', type: 'register_request', result: 'ok' }),
      2,
    );
  });

  it('push() delivers an unsolicited message (id 0) to matching peers via onUnsolicited', async () => {
    const got: Pc3Message[] = [];
    const c = client(pki.ue1, { onUnsolicited: (m) => got.push(m) });
    await c.request('config_request', {});
    const n = server.push((p) => p.nodeId === 'ue-1', 'config_response', { config: exampleConfig('ue-1') });
    assert.ok(n >= 1);
    await waitFor(() => got.length >= 1);
    assert.equal(got[0]!.id, 0);
    assert.equal(got[0]!.type, 'config_response');
    assert.throws(() => server.push(() => true, 'register_request', { ueId: 'not valid!' }));
  });

  it('reuses one connection and matches concurrent responses by id (out of order)', async () => {
    const c = client(pki.ue2);
    const before = metrics.get('pc3_handshakes_total', { result: 'ok' });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 ? c.request('config_request', {}) : c.request('register_request', { ueId: 'ue-2' }),
      ),
    );
    results.forEach((r, i) => {
      assert.equal(r.type, i % 2 ? 'config_response' : 'register_accept');
    });
    assert.equal(new Set(results.map((r) => r.id)).size, 20);
    assert.equal(metrics.get('pc3_handshakes_total', { result: 'ok' }) - before, 1);
  });

  it('rejects a client without a certificate (counted no_certificate)', async () => {
    const before = metrics.get('pc3_handshakes_total', { result: 'failed', reason: 'no_certificate' });
    const raw = await RawClient.connect(port, pki.ca.certPem).catch(() => undefined);
    raw?.sendJson({ v: 1, type: 'config_request', id: 1, body: {} });
    await raw?.waitClosed();
    await waitFor(
      () =>
        metrics.get('pc3_handshakes_total', { result: 'failed', reason: 'no_certificate' }) === before + 1,
    );
    assert.equal(raw?.bodies.length ?? 0, 0);
  });

  it('rejects a certificate from an untrusted CA (bad_certificate) and a revoked one via the CRL (revoked)', async () => {
    for (const [creds, reason] of [
      [pki.untrusted, 'bad_certificate'],
      [pki.revoked, 'revoked'],
    ] as const) {
      const before = metrics.get('pc3_handshakes_total', { result: 'failed', reason });
      const c = client(creds, { timeoutMs: 2000 });
      await assert.rejects(c.request('config_request', {}), (e: unknown) => {
        assert.ok(e instanceof Pc3RequestError);
        assert.equal(e.code, 'closed');
        return true;
      });
      await waitFor(() => metrics.get('pc3_handshakes_total', { result: 'failed', reason }) === before + 1);
    }
    assert.ok(!seen.some((s) => s.peer.nodeId === 'ue-9'));
  });

  it('setCrl revokes at run time for new handshakes', async () => {
    const m = new CountingMetrics();
    const s = new Pc3Server({
      certPem: pki.pf.certPem,
      keyPem: pki.pf.keyPem,
      caCertPem: pki.ca.certPem,
      handler: () => ({ type: 'config_response', body: { config: exampleConfig('ue-2') } }),
      metrics: m,
    });
    const sport = (await s.listen()).port;
    const mk = () =>
      new Pc3Client({
        host: '127.0.0.1',
        port: sport,
        certPem: pki.ue2.certPem,
        keyPem: pki.ue2.keyPem,
        caCertPem: pki.ca.certPem,
        timeoutMs: 2000,
      });
    const early = mk();
    const late = mk();
    try {
      assert.equal((await early.request('config_request', {})).type, 'config_response');
      s.setCrl(await createCrl(pki.ca, [certificateSerial(pki.ue2.certPem)]));
      await assert.rejects(late.request('config_request', {}), Pc3RequestError);
      await waitFor(() => m.get('pc3_handshakes_total', { result: 'failed', reason: 'revoked' }) === 1);
      // An established connection is not re-checked: disconnect() drops it.
      assert.equal((await early.request('config_request', {})).type, 'config_response');
      const revokedSerial = certificateSerial(pki.ue2.certPem);
      assert.deepEqual(
        s.peers().map((p) => p.serialNumber),
        [revokedSerial],
      );
      assert.equal(
        s.disconnect((p) => p.serialNumber === revokedSerial),
        1,
      );
      await waitFor(() => !early.connected);
      await assert.rejects(early.request('config_request', {}), Pc3RequestError);
    } finally {
      await early.close();
      await late.close();
      await s.close();
    }
  });

  it('plain-text and TLS 1.2 clients fail the handshake (protocol) and the server keeps serving', async () => {
    const before = metrics.get('pc3_handshakes_total', { result: 'failed', reason: 'protocol' });
    const plain = net.connect(port, '127.0.0.1');
    plain.on('error', () => {});
    plain.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => plain.once('close', r));
    const old = tls.connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: pki.ca.certPem,
      cert: pki.ue1.certPem,
      key: pki.ue1.keyPem,
      maxVersion: 'TLSv1.2',
    });
    const err = await new Promise<Error & { code?: string }>((r) => old.once('error', r));
    old.destroy();
    assert.match(String(err.code), /ERR_SSL/);
    await waitFor(
      () => metrics.get('pc3_handshakes_total', { result: 'failed', reason: 'protocol' }) === before + 2,
    );
    const c = client(pki.ue1);
    assert.equal((await c.request('config_request', {})).type, 'config_response');
  });

  it('the client refuses a server whose certificate names another role', async () => {
    const c = client(pki.ue1, { expectedServer: { role: 'kms' } });
    await assert.rejects(
      c.connect(),
      (e: unknown) => e instanceof Pc3RequestError && e.code === 'server_identity',
    );
  });

  it('answers invalid JSON and schema violations with error and keeps serving; closes after too many', async () => {
    const raw = await RawClient.connect(port, pki.ca.certPem, pki.ue1);
    const beforeMalformed = metrics.get('pc3_protocol_errors_total', { cause: 'malformed' });
    raw.sendBody(Buffer.from('{"v":1,"type":'));
    const r1 = await raw.reply(1);
    assert.equal(r1.type, 'error');
    assert.equal(r1.body.cause, 'malformed');
    assert.match(String(r1.body.detail), /not valid JSON/);

    raw.sendJson({ v: 1, type: 'register_request', id: 7, body: { ueId: 42 } });
    const r2 = await raw.reply(2);
    assert.equal(r2.id, 7);
    assert.equal(r2.body.cause, 'malformed');
    assert.match(String(r2.body.detail), /^body\.ueId: /);

    // Still serving valid requests on the same connection.
    raw.sendJson({ v: 1, type: 'config_request', id: 8, body: {} });
    const r3 = await raw.reply(3);
    assert.equal(r3.type, 'config_response');
    assert.equal(r3.id, 8);

    raw.sendJson({ v: 2, type: 'config_request', id: 9, body: {} });
    assert.equal((await raw.reply(4)).body.cause, 'unsupported_version');
    assert.equal(metrics.get('pc3_protocol_errors_total', { cause: 'malformed' }), beforeMalformed + 2);
    // Third invalid message (maxInvalidPerConnection = 3): the server closes the connection.
    await raw.waitClosed();
    assert.equal(metrics.get('pc3_protocol_errors_total', { cause: 'too_many_errors' }), 1);
    // Others are still served.
    const c = client(pki.ue1);
    assert.equal((await c.request('config_request', {})).type, 'config_response');
  });

  it('closes the connection on an oversize length prefix, counts it, and keeps serving others', async () => {
    const raw = await RawClient.connect(port, pki.ca.certPem, pki.ue2);
    const b = Buffer.alloc(4);
    b.writeUInt32BE(0xfffffff0);
    raw.sendRaw(b);
    const r = await raw.reply(1);
    assert.equal(r.body.cause, 'oversize');
    await raw.waitClosed();
    assert.equal(metrics.get('pc3_protocol_errors_total', { cause: 'oversize' }), 1);
    await waitFor(() => metrics.get('pc3_connections_closed_total', { reason: 'protocol_error' }) >= 1);
    const c = client(pki.ue2);
    assert.equal((await c.request('config_request', {})).type, 'config_response');
  });

  it('answers an unknown type with error unknown_type, reusing the request id', async () => {
    const raw = await RawClient.connect(port, pki.ca.certPem, pki.ue1);
    raw.sendJson({ v: 1, type: 'steal_keys', id: 3, body: {} });
    const r = await raw.reply(1);
    assert.equal(r.id, 3);
    assert.equal(r.body.cause, 'unknown_type');
    raw.destroy();
  });

  it('a truncated frame at end of stream is counted, not a crash', async () => {
    const raw = await RawClient.connect(port, pki.ca.certPem, pki.ue1);
    const before = metrics.get('pc3_protocol_errors_total', { cause: 'truncated' });
    raw.sendRaw(Buffer.from([0, 0, 0, 10, 1, 2]));
    await new Promise((r) => setTimeout(r, 20));
    raw.socket.end();
    await raw.waitClosed();
    await waitFor(() => metrics.get('pc3_protocol_errors_total', { cause: 'truncated' }) === before + 1);
  });

  it('times out a request the server does not answer, and rejects invalid requests locally', async () => {
    const quiet = new Pc3Server({
      certPem: pki.pf.certPem,
      keyPem: pki.pf.keyPem,
      caCertPem: pki.ca.certPem,
      handler: () => undefined,
    });
    const qport = (await quiet.listen()).port;
    const c = new Pc3Client({
      host: '127.0.0.1',
      port: qport,
      certPem: pki.ue1.certPem,
      keyPem: pki.ue1.keyPem,
      caCertPem: pki.ca.certPem,
    });
    try {
      await assert.rejects(
        c.request('config_request', {}, { timeoutMs: 50 }),
        (e: unknown) => e instanceof Pc3RequestError && e.code === 'timeout',
      );
      await assert.rejects(
        c.request('register_request', { ueId: 'bad id with spaces' }),
        (e: unknown) => e instanceof Pc3RequestError && e.code === 'invalid_request',
      );
    } finally {
      await c.close();
      await quiet.close();
    }
  });

  it('a throwing handler yields error internal without details, and the connection stays usable', async () => {
    const boom = new Pc3Server({
      certPem: pki.pf.certPem,
      keyPem: pki.pf.keyPem,
      caCertPem: pki.ca.certPem,
      handler: (msg) => {
        if (msg.type === 'config_request') throw new Error('secret-ish internal detail');
        return { type: 'register_accept', body: { config: { ...exampleConfig('ue-1'), l2Id: -1 } } };
      },
      allowedRoles: ['ue'],
    });
    const bport = (await boom.listen()).port;
    const c = new Pc3Client({
      host: '127.0.0.1',
      port: bport,
      certPem: pki.ue1.certPem,
      keyPem: pki.ue1.keyPem,
      caCertPem: pki.ca.certPem,
    });
    try {
      const r = await c.request('config_request', {});
      assert.equal(r.type, 'error');
      assert.equal(r.type === 'error' && r.body.cause, 'internal');
      assert.doesNotMatch(JSON.stringify(r), /secret-ish/);
      // An invalid reply from the handler (l2Id -1) is not sent: error internal instead.
      const r2 = await c.request('register_request', { ueId: 'ue-1' });
      assert.equal(r2.type, 'error');
    } finally {
      await c.close();
      await boom.close();
    }
  });

  it('close() ends connections stuck before or in the handshake, within the grace period', async () => {
    const m = new CountingMetrics();
    const s = new Pc3Server({
      certPem: pki.pf.certPem,
      keyPem: pki.pf.keyPem,
      caCertPem: pki.ca.certPem,
      handler: () => undefined,
      metrics: m,
    });
    const sport = (await s.listen()).port;
    const idle = net.connect(sport, '127.0.0.1');
    idle.on('error', () => {});
    await new Promise((r) => idle.once('connect', r));
    const c = new Pc3Client({
      host: '127.0.0.1',
      port: sport,
      certPem: pki.ue1.certPem,
      keyPem: pki.ue1.keyPem,
      caCertPem: pki.ca.certPem,
    });
    await c.connect();
    await waitFor(() => s.connectionCount === 1);
    const t0 = Date.now();
    await s.close(100);
    assert.ok(Date.now() - t0 < 2000);
    await waitFor(() => !c.connected && idle.destroyed);
    await waitFor(() => m.get('pc3_connections_closed_total', { reason: 'local_close' }) === 1);
    await c.close();
  });

  it('answers requests beyond maxInFlightPerConnection with error rate_limited, and idle connections time out', async () => {
    const m = new CountingMetrics();
    const s = new Pc3Server({
      certPem: pki.pf.certPem,
      keyPem: pki.pf.keyPem,
      caCertPem: pki.ca.certPem,
      handler: async () => {
        await new Promise((r) => setTimeout(r, 50));
        return { type: 'config_response', body: { config: exampleConfig('ue-1') } };
      },
      maxInFlightPerConnection: 2,
      idleTimeoutMs: 300,
      metrics: m,
    });
    const sport = (await s.listen()).port;
    const c = new Pc3Client({
      host: '127.0.0.1',
      port: sport,
      certPem: pki.ue1.certPem,
      keyPem: pki.ue1.keyPem,
      caCertPem: pki.ca.certPem,
    });
    try {
      const rs = await Promise.all(Array.from({ length: 5 }, () => c.request('config_request', {})));
      assert.deepEqual(
        rs.map((r) => (r.type === 'error' ? r.body.cause : r.type)),
        ['config_response', 'config_response', 'rate_limited', 'rate_limited', 'rate_limited'],
      );
      assert.equal(m.get('pc3_messages_total', { result: 'rate_limited' }), 3);
      await waitFor(() => !c.connected, 3000, 'idle timeout');
      await waitFor(() => m.get('pc3_connections_closed_total', { reason: 'idle_timeout' }) === 1);
    } finally {
      await c.close();
      await s.close();
    }
  });

  it('allowedRoles refuses other roles after the handshake (role_not_allowed)', async () => {
    const m = new CountingMetrics();
    const only = new Pc3Server({
      certPem: pki.pf.certPem,
      keyPem: pki.pf.keyPem,
      caCertPem: pki.ca.certPem,
      handler: () => undefined,
      allowedRoles: ['ue'],
      metrics: m,
    });
    const oport = (await only.listen()).port;
    const c = new Pc3Client({
      host: '127.0.0.1',
      port: oport,
      certPem: pki.pf.certPem,
      keyPem: pki.pf.keyPem,
      caCertPem: pki.ca.certPem,
      timeoutMs: 2000,
    });
    try {
      await assert.rejects(c.request('config_request', {}), (e: unknown) => e instanceof Pc3RequestError);
      assert.equal(m.get('pc3_handshakes_total', { result: 'failed', reason: 'role_not_allowed' }), 1);
    } finally {
      await c.close();
      await only.close();
    }
  });

  it('a connection refused by admitConnection is cut before TLS: counted refused/throttled, not a failed handshake', async () => {
    const m = new CountingMetrics();
    const admitted: Array<string | undefined> = [];
    const gate = new Pc3Server({
      certPem: pki.pf.certPem,
      keyPem: pki.pf.keyPem,
      caCertPem: pki.ca.certPem,
      handler: async () => ({ type: 'config_response', body: { config: exampleConfig('ue-1') } }),
      // The first two connections are refused, the rest admitted.
      admitConnection: (addr) => admitted.push(addr) > 2,
      metrics: m,
    });
    const gport = (await gate.listen()).port;
    const clients = [1, 2, 3].map(
      () =>
        new Pc3Client({
          host: '127.0.0.1',
          port: gport,
          certPem: pki.ue1.certPem,
          keyPem: pki.ue1.keyPem,
          caCertPem: pki.ca.certPem,
          timeoutMs: 2000,
        }),
    );
    try {
      for (const c of clients.slice(0, 2)) await assert.rejects(c.connect());
      const r = await clients[2]!.request('config_request', {});
      assert.equal(r.type, 'config_response');
      assert.deepEqual(admitted, ['127.0.0.1', '127.0.0.1', '127.0.0.1']);
      assert.equal(m.get('pc3_handshakes_total', { result: 'refused', reason: 'throttled' }), 2);
      assert.equal(m.get('pc3_handshakes_total', { result: 'failed' }), 0);
      assert.equal(m.get('pc3_handshakes_total', { result: 'ok' }), 1);
    } finally {
      for (const c of clients) await c.close();
      await gate.close();
    }
  });
});
