// Child process of bench/registration-flood.bench.ts: floods the ProSe Function with registration attempts from
// another loopback source address (127.0.0.2): each attempt is a new TLS 1.3 connection with a valid but
// unsubscribed certificate and a register_request. Paced at an offered rate, in-flight and duration bounded.

import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { encodeFrame } from '../transport/pc3/framing.js';
import { encodeMessage } from '../transport/pc3/messages.js';

interface Start {
  t: 'start';
  port: number;
  identities: { nodeId: string; certPem: string; keyPem: string }[];
  caCertPem: string;
  ratePerSec: number;
  durationMs: number;
  maxInFlight: number;
}

process.on('message', (m: Start) => {
  if (m.t !== 'start') return;
  const stats = { offered: 0, skippedInFlight: 0, tlsUp: 0, answered: 0, refused: 0 };
  let inFlight = 0;
  let k = 0;
  const contexts = m.identities.map((id) => ({
    id,
    ctx: tls.createSecureContext({
      cert: id.certPem,
      key: id.keyPem,
      ca: m.caCertPem,
      minVersion: 'TLSv1.3',
    }),
  }));
  const attempt = () => {
    stats.offered++;
    if (inFlight >= m.maxInFlight) {
      stats.skippedInFlight++;
      return;
    }
    inFlight++;
    const who = contexts[k++ % contexts.length]!;
    const s = tls.connect({
      host: '127.0.0.1',
      port: m.port,
      localAddress: '127.0.0.2',
      servername: 'localhost',
      secureContext: who.ctx,
      minVersion: 'TLSv1.3',
    } as tls.ConnectionOptions);
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      inFlight--;
      if (!ok) stats.refused++;
      s.destroy();
    };
    s.setTimeout(3000, () => finish(false));
    s.once('secureConnect', () => {
      stats.tlsUp++;
      s.write(
        encodeFrame(encodeMessage({ v: 1, type: 'register_request', id: 1, body: { ueId: who.id.nodeId } })),
      );
    });
    s.once('data', () => {
      stats.answered++;
      finish(true);
    });
    s.once('error', () => finish(false));
    s.once('close', () => finish(false));
  };
  const t0 = performance.now();
  const tick = 5; // ms
  let due = 0;
  const timer = setInterval(() => {
    const elapsed = performance.now() - t0;
    if (elapsed >= m.durationMs) {
      clearInterval(timer);
      setTimeout(() => process.send!({ t: 'done', stats, wallMs: performance.now() - t0 }), 500);
      return;
    }
    const target = Math.floor((elapsed / 1000) * m.ratePerSec);
    // Bounded catch-up: never more than 200 attempts in one tick.
    for (let n = 0; due < target && n < 200; n++, due++) attempt();
  }, tick);
});
