// Load-generator worker for bench/aaa-throughput.bench.ts: `concurrency` parallel loops of full EAP-AKA'
// authentications (or bare RADIUS round trips) against the AAA, bounded in time and count; posts its counts.
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import type { SubscriberRecord } from '../procedures/eap/hss.js';
import { RadiusClient } from '../transport/radius/client.js';
import { RADIUS_ATTR } from '../transport/radius/codec.js';
import { eapPassThrough } from '../transport/radius/passthrough.js';
import { peerFor } from './relay-nodes.js';

interface Job {
  /** full: every authentication full; reauth: fast re-authentication after each peer's first full one; bare: RADIUS only. */
  mode: 'full' | 'reauth' | 'bare';
  port: number;
  secret: string;
  subs: SubscriberRecord[];
  seconds: number;
  maxOps: number;
}

const job = workerData as Job;
const cs = Array.from(
  { length: 4 },
  () =>
    new RadiusClient({
      host: '127.0.0.1',
      port: job.port,
      secret: new TextEncoder().encode(job.secret),
      retryMs: 2000,
    }),
);
await Promise.all(cs.map((c) => c.start()));
const peers = job.subs.map((s) => peerFor(s, job.mode === 'reauth'));
let done = 0;
let failed = 0;
const reasons: Record<string, number> = {};
const why = (r: string) => {
  reasons[r] = (reasons[r] ?? 0) + 1;
  return false;
};
const op = async (i: number): Promise<boolean> => {
  const c = cs[i % cs.length]!;
  if (job.mode === 'bare') {
    const a = await c.request([{ type: RADIUS_ATTR.USER_NAME, value: new TextEncoder().encode('x') }]);
    return a.kind === 'reject';
  }
  const p = peers[i]!;
  p.reset();
  const r = await eapPassThrough(c, `bench-${i}`, async (eap) => {
    const o = p.receive(eap);
    return o.kind === 'response' ? o.packet : undefined;
  });
  if (r.result === 'accept') return r.msk.length === 64 || why('msk_length');
  return why(r.result === 'reject' ? `reject:${p.lastError ?? 'server'}` : `error:${r.reason}`);
};
const t0 = performance.now();
const end = t0 + job.seconds * 1000;
await Promise.all(
  peers.map(async (_, i) => {
    while (performance.now() < end && done + failed < job.maxOps) {
      if (await op(i).catch((e: Error) => why(`throw:${e.message}`))) done++;
      else failed++;
    }
  }),
);
const elapsed = (performance.now() - t0) / 1000;
for (const c of cs) await c.close();
parentPort!.postMessage({ done, failed, elapsed, reasons });
