// Shared fixtures for the PC3 tests: a testbed PKI, raw TLS clients, and bounded waiting.
import tls from 'node:tls';
import { encodeFrame, FrameDecoder } from '../../transport/pc3/framing.js';
import {
  certificateSerial,
  createCrl,
  createNodeCredentials,
  createTestbedCa,
  type TestbedCa,
} from '../../transport/pc3/pki.js';

export interface Creds {
  certPem: string;
  keyPem: string;
}

export interface TestPki {
  ca: TestbedCa;
  otherCa: TestbedCa;
  pf: Creds;
  ue1: Creds;
  ue2: Creds;
  revoked: Creds;
  untrusted: Creds;
  crlPem: string;
}

let cached: Promise<TestPki> | undefined;

/** One PKI per test file process (issuing is fast, but there is no need to repeat it). */
export function testPki(): Promise<TestPki> {
  cached ??= (async () => {
    const ca = await createTestbedCa({ name: 'pc3 test CA' });
    const otherCa = await createTestbedCa({ name: 'untrusted CA' });
    const pf = await createNodeCredentials(ca, { nodeId: 'pf-1', role: 'prose-function' });
    const ue1 = await createNodeCredentials(ca, { nodeId: 'ue-1', role: 'ue' });
    const ue2 = await createNodeCredentials(ca, { nodeId: 'ue-2', role: 'ue' });
    const revoked = await createNodeCredentials(ca, { nodeId: 'ue-9', role: 'ue' });
    const untrusted = await createNodeCredentials(otherCa, { nodeId: 'ue-1', role: 'ue' });
    const crlPem = await createCrl(ca, [certificateSerial(revoked.certPem)]);
    return { ca, otherCa, pf, ue1, ue2, revoked, untrusted, crlPem };
  })();
  return cached;
}

/** Polls `cond` every 5 ms until true, failing after timeoutMs. */
export async function waitFor(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A raw TLS 1.3 client (no PC3 logic) to send arbitrary bytes and collect framed replies. */
export class RawClient {
  readonly socket: tls.TLSSocket;
  readonly bodies: Buffer[] = [];
  closed = false;
  private readonly decoder = new FrameDecoder(1 << 24);

  private constructor(socket: tls.TLSSocket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      try {
        this.bodies.push(...this.decoder.push(d));
      } catch {
        // ignore
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static connect(port: number, caCertPem: string, creds?: Creds): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        ca: caCertPem,
        minVersion: 'TLSv1.3',
        ...(creds ? { cert: creds.certPem, key: creds.keyPem } : {}),
      });
      s.once('error', reject);
      s.once('secureConnect', () => {
        s.off('error', reject);
        resolve(new RawClient(s));
      });
    });
  }

  sendJson(obj: unknown): void {
    this.socket.write(encodeFrame(Buffer.from(JSON.stringify(obj))));
  }

  sendBody(body: Uint8Array): void {
    this.socket.write(encodeFrame(body));
  }

  sendRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Waits for the n-th reply (1-based) and returns it parsed. */
  async reply(
    n: number,
    timeoutMs = 3000,
  ): Promise<{ v: number; type: string; id: number; body: Record<string, unknown> }> {
    await waitFor(() => this.bodies.length >= n || this.closed, timeoutMs, `reply ${n}`);
    const b = this.bodies[n - 1];
    if (!b) throw new Error(`connection closed before reply ${n}`);
    return JSON.parse(b.toString('utf8'));
  }

  async waitClosed(timeoutMs = 3000): Promise<void> {
    await waitFor(() => this.closed, timeoutMs, 'raw client close');
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A ProseConfig example that passes the schema. */
export function exampleConfig(ueId: string) {
  return {
    ueId,
    l2Id: 0x00a1b2,
    groups: [{ groupId: 'g1', multicastAddress: '239.1.1.1', port: 5001, l2GroupId: 0x00ff01 }],
    discovery: { multicastAddress: '239.1.0.1', port: 5000 },
    validUntil: '2026-11-25T16:00:00.000Z',
    issuedAt: '2026-11-24T16:00:00.000Z',
  };
}
