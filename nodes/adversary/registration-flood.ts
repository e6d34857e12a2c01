// TR 33.833 key issue #2.5 (DoS of the ProSe Function by registration flooding): the adversary, holding a subscribed
// UE's credentials (`adversary.insider`, so the ProSe Function cannot refuse it by policy), floods PC3 with
// registrations from another host's address (127.0.0.2 on loopback; the run's UEs use 127.0.0.1): each attempt is a
// new TLS 1.3 connection with the insider's certificate and a register_request, as a UE makes at start-up. Bounded in
// count (MAX_ATTEMPTS), time (MAX_MS) and concurrency (WORKERS), paced at RATE attempts/s. Evidence: what the ProSe
// Function did with each attempt (registered it, refused it as rate_limited, or cut the connection before TLS);
// the legitimate UEs' re-registrations during the flood are counted at the UEs (run summary `reRegistrations`).
import { performance } from 'node:perf_hooks';
import { type Pc3Client, Pc3RequestError } from '../../transport/pc3/client.js';
import type { Attack, AttackIo } from './attack.js';

/** Another host's address on loopback: the source of the flood. */
export const FLOOD_SOURCE_ADDRESS = '127.0.0.2';
const WORKERS = 8;
const MAX_ATTEMPTS = 300;
const MAX_MS = 3000;
const RATE = 100;
const START_AFTER_MS = 200;
const TIMEOUT_MS = 3000;

export function registrationFlood(io: AttackIo): Attack {
  const e = {
    attempts: 0,
    accepted: 0,
    rateLimited: 0,
    otherRejected: 0,
    connectionsRefused: 0,
    timeouts: 0,
    errors: 0,
    acceptedP50Ms: 0,
    floodMs: 0,
  };
  const latencies: number[] = [];
  const clients: Pc3Client[] = [];
  let stopped = false;
  const sleep = (ms: number) => new Promise<void>((r) => io.later(ms, r));
  const attempt = async (c: Pc3Client, ueId: string) => {
    e.attempts++;
    const t = performance.now();
    try {
      const r = await c.request('register_request', { ueId });
      if (r.type === 'register_accept') {
        e.accepted++;
        latencies.push(performance.now() - t);
      } else if (r.type === 'register_reject' && r.body.cause === 'rate_limited') e.rateLimited++;
      else e.otherRejected++;
    } catch (err) {
      if (!(err instanceof Pc3RequestError)) e.errors++;
      else if (err.code === 'timeout') e.timeouts++;
      // The ProSe Function's admission check closes the connection at accept, before the TLS handshake.
      else if (err.code === 'connect_failed' || err.code === 'closed') e.connectionsRefused++;
      else e.errors++;
    } finally {
      await c.close().catch(() => undefined);
    }
  };
  const flood = async () => {
    const insider = io.insider!;
    const t0 = performance.now();
    const spacing = (1000 * WORKERS) / RATE;
    await Promise.all(
      Array.from({ length: WORKERS }, async (_, w) => {
        const c = insider.newPc3Client({ localAddress: FLOOD_SOURCE_ADDRESS, timeoutMs: TIMEOUT_MS });
        clients.push(c);
        await sleep((w * spacing) / WORKERS);
        while (!stopped && e.attempts < MAX_ATTEMPTS && performance.now() - t0 < MAX_MS) {
          const t = performance.now();
          await attempt(c, insider.ueId);
          await sleep(Math.max(0, spacing - (performance.now() - t)));
        }
      }),
    );
    e.floodMs = Math.round(performance.now() - t0);
  };
  const p50 = () => {
    const s = [...latencies].sort((a, b) => a - b);
    return s.length ? Math.round(s[s.length >> 1]! * 10) / 10 : 0;
  };
  return {
    onFrame() {},
    start() {
      if (!io.insider) return;
      io.later(START_AFTER_MS, () => {
        void flood().catch(() => {
          e.errors++;
        });
      });
    },
    async stop() {
      stopped = true;
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    },
    evidence: () => ({ ...e, acceptedP50Ms: p50() }),
  };
}
