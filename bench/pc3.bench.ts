// PC3 benchmark: request/response round trips over one TLS 1.3 connection with framing + zod validation, against
// a raw TLS exchange of the same bytes in the same run; and full mutual-TLS handshakes per second. Loopback only.
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { Pc3Client } from '../transport/pc3/client.js';
import { encodeFrame } from '../transport/pc3/framing.js';
import { decodeMessage, encodeMessage, makeMessage, type ProseConfig } from '../transport/pc3/messages.js';
import { createNodeCredentials, createTestbedCa } from '../transport/pc3/pki.js';
import { Pc3Server } from '../transport/pc3/server.js';
import { type BenchResult, bench, median, report } from './harness.js';

const ROUNDS = 7;
const ROUND_MS = 300;
const MAX_OPS_PER_ROUND = 200_000;

/** Runs an async operation in timed rounds (bounded in time and count); median ops/s. */
async function benchAsync(name: string, op: () => Promise<unknown>, opsPerCall = 1): Promise<BenchResult> {
  for (let i = 0; i < 20; i++) await op();
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let ops = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < ROUND_MS && ops < MAX_OPS_PER_ROUND) {
      await op();
      ops += opsPerCall;
    }
    rates.push((ops * 1000) / (performance.now() - t0));
  }
  const opsPerSec = median(rates);
  return { name, opsPerSec, usPerOp: 1e6 / opsPerSec, rounds: ROUNDS };
}

const config: ProseConfig = {
  ueId: 'ue-1',
  l2Id: 0x00a1b2,
  groups: [
    { groupId: 'g1', multicastAddress: '239.1.1.1', port: 5001, l2GroupId: 0x00ff01 },
    { groupId: 'g2', multicastAddress: '239.1.1.2', port: 5002, l2GroupId: 0x00ff02 },
  ],
  discovery: { multicastAddress: '239.1.0.1', port: 5000 },
  validUntil: '2026-11-25T16:00:00.000Z',
  issuedAt: '2026-11-24T16:00:00.000Z',
};

async function main(): Promise<void> {
  const ca = await createTestbedCa();
  const pf = await createNodeCredentials(ca, { nodeId: 'pf-1', role: 'prose-function' });
  const ue = await createNodeCredentials(ca, { nodeId: 'ue-1', role: 'ue' });

  // PC3: framing + JSON + zod validation on both sides.
  const server = new Pc3Server({
    certPem: pf.certPem,
    keyPem: pf.keyPem,
    caCertPem: ca.certPem,
    handler: () => ({ type: 'config_response', body: { config } }),
    maxInFlightPerConnection: 64,
  });
  const { port } = await server.listen();
  const client = new Pc3Client({
    host: '127.0.0.1',
    port,
    certPem: ue.certPem,
    keyPem: ue.keyPem,
    caCertPem: ca.certPem,
  });
  await client.connect();

  // Baseline: the same request/response octets over one raw TLS 1.3 connection, no parsing or validation.
  const reqBytes = encodeFrame(encodeMessage(makeMessage('config_request', 1, {})));
  const resBytes = encodeFrame(encodeMessage(makeMessage('config_response', 1, { config })));
  const raw = tls.createServer(
    {
      cert: pf.certPem,
      key: pf.keyPem,
      ca: ca.certPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
    },
    (s) => {
      let got = 0;
      s.setNoDelay(true);
      s.on('data', (d: Buffer) => {
        got += d.length;
        while (got >= reqBytes.length) {
          got -= reqBytes.length;
          s.write(resBytes);
        }
      });
      s.on('error', () => s.destroy());
    },
  );
  await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
  const rawPort = (raw.address() as AddressInfo).port;
  const rawSock = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port: rawPort,
      servername: 'localhost',
      cert: ue.certPem,
      key: ue.keyPem,
      ca: ca.certPem,
      minVersion: 'TLSv1.3',
    });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
  rawSock.setNoDelay(true);
  let rawGot = 0;
  let rawWaiter: (() => void) | undefined;
  let rawNeed = 0;
  rawSock.on('data', (d: Buffer) => {
    rawGot += d.length;
    if (rawWaiter && rawGot >= rawNeed) {
      const w = rawWaiter;
      rawWaiter = undefined;
      w();
    }
  });
  const rawRoundTrips = (n: number) =>
    new Promise<void>((resolve) => {
      rawGot = 0;
      rawNeed = n * resBytes.length;
      rawWaiter = resolve;
      for (let i = 0; i < n; i++) rawSock.write(reqBytes);
    });

  console.log(`PC3 over TLS 1.3 on loopback; request ${reqBytes.length} B, response ${resBytes.length} B`);
  // Where PC3's extra cost goes: the codec of one round trip (encode+decode of request and response, with zod
  // validation on both sides), no I/O; and the same with JSON only.
  const req = makeMessage('config_request', 1, {});
  const res = makeMessage('config_response', 1, { config });
  const codec = bench('PC3 codec per round trip (JSON + zod)', () => {
    decodeMessage(encodeMessage(req));
    decodeMessage(encodeMessage(res));
  });
  report(codec);
  const jsonOnly = bench('JSON only per round trip (no validation)', () => {
    JSON.parse(JSON.stringify(req));
    JSON.parse(JSON.stringify(res));
  });
  report(jsonOnly);
  const rawSeq = await benchAsync('raw TLS 1.3 exchange, sequential', () => rawRoundTrips(1));
  report(rawSeq);
  const pc3Seq = await benchAsync('PC3 request/response, sequential', () =>
    client.request('config_request', {}),
  );
  report(pc3Seq, rawSeq);

  const WINDOW = 16;
  const rawPar = await benchAsync(
    `raw TLS 1.3 exchange, ${WINDOW} in flight`,
    () => rawRoundTrips(WINDOW),
    WINDOW,
  );
  report(rawPar);
  const pc3Par = await benchAsync(
    `PC3 request/response, ${WINDOW} in flight`,
    () => Promise.all(Array.from({ length: WINDOW }, () => client.request('config_request', {}))),
    WINDOW,
  );
  report(pc3Par, rawPar);

  // Full handshakes (ECDHE P-256/X25519 + ECDSA both ways, CA chain and CRL-less verification), sequential.
  // One client SecureContext, as Pc3Client keeps one (building it costs milliseconds).
  const ueContext = tls.createSecureContext({
    cert: ue.certPem,
    key: ue.keyPem,
    ca: ca.certPem,
    minVersion: 'TLSv1.3',
  });
  const handshake = () =>
    new Promise<void>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', secureContext: ueContext });
      // The server's NewSessionTicket arrives after it has verified our certificate and Finished.
      s.once('session', () => {
        s.destroy();
        resolve();
      });
      s.once('error', reject);
    });
  const hs = await benchAsync('full mutual-TLS 1.3 handshake, sequential', handshake);
  report(hs);
  const reconnecting = new Pc3Client({
    host: '127.0.0.1',
    port,
    certPem: ue.certPem,
    keyPem: ue.keyPem,
    caCertPem: ca.certPem,
  });
  const pc3Connect = await benchAsync('PC3 connect + 1 request + close', async () => {
    await reconnecting.request('config_request', {});
    await reconnecting.close();
  });
  report(pc3Connect, hs);

  rawSock.destroy();
  await new Promise<void>((r) => raw.close(() => r()));
  await client.close();
  await server.close(200);
}

await main();
