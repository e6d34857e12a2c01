// An on-path attacker between UE and ProSe Function (a TCP proxy parsing TLS record headers) flips a bit in, or
// replays, an application-data record: TLS 1.3 integrity and replay protection (TR 33.833 key issue #1.1) must
// reject it, the server must count it and survive, and a fresh connection must work afterwards.
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Pc3Client, Pc3RequestError } from '../../transport/pc3/client.js';
import type { Pc3Message } from '../../transport/pc3/messages.js';
import { CountingMetrics } from '../../transport/pc3/metrics.js';
import { Pc3Server } from '../../transport/pc3/server.js';
import { exampleConfig, type TestPki, testPki, waitFor } from './pc3-fixtures.js';

const TLS_APPLICATION_DATA = 0x17;
const RECORD_HEADER = 5;

/**
 * Forwards TCP both ways. Client-to-server bytes are cut into TLS records (5-octet header: type, version,
 * length); once armed, the next application-data record is tampered with or captured for a later replay.
 */
class TamperProxy {
  private server = net.createServer((c) => this.onClient(c));
  private sockets = new Set<net.Socket>();
  mode: 'pass' | 'flip' | 'capture' = 'pass';
  captured: { record: Buffer; upstream: net.Socket } | undefined;
  tampered = 0;

  constructor(private readonly target: number) {}

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }

  private onClient(client: net.Socket): void {
    const upstream = net.connect(this.target, '127.0.0.1');
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    upstream.on('data', (d) => client.write(d));
    let buf = Buffer.alloc(0);
    client.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      // One record per iteration; bounded by the buffered length.
      while (buf.length >= RECORD_HEADER) {
        const len = buf.readUInt16BE(3);
        if (buf.length < RECORD_HEADER + len) break;
        const record = Buffer.from(buf.subarray(0, RECORD_HEADER + len));
        buf = buf.subarray(RECORD_HEADER + len);
        if (record[0] === TLS_APPLICATION_DATA && this.mode === 'flip') {
          this.mode = 'pass';
          record[RECORD_HEADER + 2]! ^= 0x01; // one bit of the ciphertext
          this.tampered++;
        } else if (record[0] === TLS_APPLICATION_DATA && this.mode === 'capture') {
          this.mode = 'pass';
          this.captured = { record: Buffer.from(record), upstream };
        }
        upstream.write(record);
      }
    });
  }

  /** Sends the captured record again, as an attacker replaying it. */
  replay(): void {
    assert.ok(this.captured, 'nothing captured');
    this.captured.upstream.write(this.captured.record);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

describe('PC3 against a tampering / replaying man in the middle', () => {
  let pki: TestPki;
  let server: Pc3Server;
  let proxy: TamperProxy;
  let proxyPort: number;
  const metrics = new CountingMetrics();
  const handled: Pc3Message[] = [];

  before(async () => {
    pki = await testPki();
    server = new Pc3Server({
      certPem: pki.pf.certPem,
      keyPem: pki.pf.keyPem,
      caCertPem: pki.ca.certPem,
      metrics,
      handler: (msg, peer) => {
        handled.push(msg);
        return { type: 'config_response', body: { config: exampleConfig(peer.nodeId) } };
      },
    });
    const { port } = await server.listen();
    proxy = new TamperProxy(port);
    proxyPort = await proxy.listen();
  });

  after(async () => {
    await proxy.close();
    await server.close();
  });

  function newClient(): Pc3Client {
    return new Pc3Client({
      host: '127.0.0.1',
      port: proxyPort,
      certPem: pki.ue1.certPem,
      keyPem: pki.ue1.keyPem,
      caCertPem: pki.ca.certPem,
      timeoutMs: 3000,
    });
  }

  /** Connects and waits until the server has finished the handshake, so the next 0x17 record is application data. */
  async function connected(c: Pc3Client): Promise<void> {
    const before = metrics.get('pc3_handshakes_total', { result: 'ok' });
    await c.connect();
    await waitFor(() => metrics.get('pc3_handshakes_total', { result: 'ok' }) === before + 1);
  }

  it('a flipped bit in an application-data record is detected: connection closed, counted, nothing handled', async () => {
    const c = newClient();
    try {
      await connected(c);
      const handledBefore = handled.length;
      proxy.mode = 'flip';
      await assert.rejects(c.request('config_request', {}), (e: unknown) => {
        assert.ok(e instanceof Pc3RequestError);
        assert.equal(e.code, 'closed');
        return true;
      });
      assert.equal(proxy.tampered, 1);
      await waitFor(() => metrics.get('pc3_connections_closed_total', { reason: 'tls_error' }) === 1);
      assert.equal(handled.length, handledBefore, 'the tampered request must not reach the handler');
      // A fresh connection (the same client reconnects on demand) still works.
      const r = await c.request('config_request', {});
      assert.equal(r.type, 'config_response');
    } finally {
      await c.close();
    }
  });

  it('a replayed application-data record is rejected by TLS: handled once, connection closed, counted', async () => {
    const c = newClient();
    try {
      await connected(c);
      const handledBefore = handled.length;
      const tlsErrorsBefore = metrics.get('pc3_connections_closed_total', { reason: 'tls_error' });
      proxy.mode = 'capture';
      const r = await c.request('config_request', {});
      assert.equal(r.type, 'config_response');
      assert.equal(handled.length, handledBefore + 1);
      proxy.replay();
      await waitFor(
        () => metrics.get('pc3_connections_closed_total', { reason: 'tls_error' }) === tlsErrorsBefore + 1,
      );
      assert.equal(handled.length, handledBefore + 1, 'the replayed request must not be handled again');
      await waitFor(() => !c.connected);
      const again = await c.request('config_request', {});
      assert.equal(again.type, 'config_response');
    } finally {
      await c.close();
    }
  });
});
