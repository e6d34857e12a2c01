// Registration DoS (TR 33.833 key issue #2.5): registrations/s the ProSe Function sustains for legitimate UEs
// (each: new TLS 1.3 connection with its certificate + register_request + close, as a UE does at start-up), then
// the same while an attacker floods at 10x that rate from another loopback address (127.0.0.2) with valid but
// unsubscribed certificates; with the throttle on and off. PF and attacker are separate processes; the legitimate
// UEs run here. Every phase is bounded in time; in-flight attempts are capped.
import { fork } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Pc3Client } from '../transport/pc3/client.js';
import { createNodeCredentials, createTestbedCa } from '../transport/pc3/pki.js';
import { median, percentile } from './harness.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const PHASE_MS = Number(process.env.FLOOD_PHASE_MS ?? 4000);
const LEGIT_LOOPS = 2;
console.log(
  `# registration flood; ${PHASE_MS} ms per phase; shared noisy 2-core machine: medians, orders of magnitude`,
);

const ca = await createTestbedCa();
const pfCreds = await createNodeCredentials(ca, { nodeId: 'prose-function', role: 'prose-function' });
const legit = await Promise.all(
  // Enough identities that each registers well below the per-identity limit (a UE registers once, not in a loop).
  Array.from({ length: 200 }, (_, i) => createNodeCredentials(ca, { nodeId: `ue-${i + 1}`, role: 'ue' })),
);
const attackers = await Promise.all(
  Array.from({ length: 16 }, async (_, i) => ({
    nodeId: `mallory-${i + 1}`,
    ...(await createNodeCredentials(ca, { nodeId: `mallory-${i + 1}`, role: 'ue' })),
  })),
);

type Stats = {
  results: Record<string, number>;
  throttle: unknown;
  handshakesFailed: number;
  connectionsRefused: number;
  cpuMs: number;
  wallMs: number;
};

async function startPf(throttle: boolean) {
  const child = fork(join(here, 'registration-pf.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve) => {
    child.on('message', (m: { t: string; port: number }) => m.t === 'ready' && resolve(m.port));
    child.send({
      t: 'start',
      ...pfCreds,
      caCertPem: ca.certPem,
      subscribers: legit.map((_, i) => `ue-${i + 1}`),
      throttle,
    });
  });
  const stats = () =>
    new Promise<Stats>((resolve) => {
      const h = (m: Stats & { t: string }) => {
        if (m.t === 'stats') {
          child.off('message', h);
          resolve(m);
        }
      };
      child.on('message', h);
      child.send({ t: 'stats' });
    });
  const stop = async () => {
    child.send({ t: 'stop' });
    await new Promise((r) => child.once('exit', r));
  };
  return { port, stats, stop, pid: child.pid };
}

/** Legitimate UEs registering back to back (LEGIT_LOOPS in parallel) for PHASE_MS. */
async function legitPhase(
  port: number,
): Promise<{ perSec: number; ok: number; failed: number; p50: number; p99: number }> {
  const lat: number[] = [];
  let ok = 0;
  let failed = 0;
  const end = performance.now() + PHASE_MS;
  let n = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: LEGIT_LOOPS }, async () => {
      while (performance.now() < end) {
        const c = legit[n++ % legit.length]!;
        const ueId = `ue-${((n - 1) % legit.length) + 1}`;
        const client = new Pc3Client({
          host: '127.0.0.1',
          port,
          ...c,
          caCertPem: ca.certPem,
          expectedServer: { role: 'prose-function' },
          timeoutMs: 5000,
        });
        const t = performance.now();
        const failedBefore = failed;
        try {
          const r = await client.request('register_request', { ueId });
          if (r.type === 'register_accept') {
            ok++;
            lat.push(performance.now() - t);
          } else failed++;
        } catch {
          failed++;
        } finally {
          await client.close();
        }
        if (failed > failedBefore) await new Promise((r) => setTimeout(r, 50)); // back off, as a UE would
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  return { perSec: ok / secs, ok, failed, p50: median(lat), p99: percentile(lat, 99) };
}

async function attack(port: number, ratePerSec: number) {
  const child = fork(join(here, 'registration-attacker.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const done = new Promise<{ stats: Record<string, number>; wallMs: number }>((resolve) =>
    child.on('message', (m: { t: string; stats: Record<string, number>; wallMs: number }) => {
      if (m.t === 'done') resolve(m);
    }),
  );
  child.send({
    t: 'start',
    port,
    identities: attackers,
    caCertPem: ca.certPem,
    ratePerSec,
    durationMs: PHASE_MS + 500,
    maxInFlight: 128,
  });
  return {
    done: done.then(async (r) => {
      child.kill('SIGTERM');
      await new Promise((x) => child.once('exit', x));
      return r;
    }),
  };
}

const fmt = (x: number) => x.toFixed(1);
const rows: string[] = [];
let baseline = 0;
for (const throttle of [true, false]) {
  const pf = await startPf(throttle);
  const alone = await legitPhase(pf.port);
  if (throttle) baseline = alone.perSec;
  const rate = Math.max(10, Math.round(10 * baseline));
  const a = await attack(pf.port, rate);
  await new Promise((r) => setTimeout(r, 300)); // let the flood ramp up
  const during = await legitPhase(pf.port);
  const att = await a.done;
  const st = await pf.stats();
  await pf.stop();
  rows.push(
    `throttle ${throttle ? 'on ' : 'off'}: legit alone ${fmt(alone.perSec)}/s (p50 ${fmt(alone.p50)} ms); ` +
      `during a flood offered at ${rate}/s: legit ${fmt(during.perSec)}/s (p50 ${fmt(during.p50)} ms, p99 ${fmt(during.p99)} ms, ${during.failed} failed) ` +
      `= ratio ${(during.perSec / alone.perSec).toFixed(2)} vs alone`,
    `  attacker: offered ${att.stats.offered}, TLS up ${att.stats.tlsUp}, answered ${att.stats.answered}, refused/cut ${att.stats.refused}, skipped (in-flight cap) ${att.stats.skippedInFlight}`,
    `  PF: results ${JSON.stringify(st.results)}, throttle ${JSON.stringify(st.throttle)}, failed handshakes ${st.handshakesFailed}, connections refused before TLS ${st.connectionsRefused}, CPU ${fmt(st.cpuMs)} ms over ${fmt(st.wallMs)} ms`,
  );
  console.log(rows.slice(-3).join('\n'));
}
// Control: the same attacker process flooding a listener that drops every connection at once, while the
// legitimate UEs register with a throttled PF: how much of the slowdown is only CPU contention on this machine.
{
  const sink = createServer((c) => c.destroy());
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
  const sinkPort = (sink.address() as { port: number }).port;
  const pf = await startPf(true);
  const alone = await legitPhase(pf.port);
  const a = await attack(sinkPort, Math.max(10, Math.round(10 * baseline)));
  await new Promise((r) => setTimeout(r, 300));
  const during = await legitPhase(pf.port);
  await a.done;
  await pf.stop();
  sink.close();
  console.log(
    `control (attacker floods another listener): legit alone ${fmt(alone.perSec)}/s, with the attacker process busy ${fmt(during.perSec)}/s = ratio ${(during.perSec / alone.perSec).toFixed(2)}`,
  );
}
console.log(
  `baseline: legitimate registrations/s with no attacker (throttle on, first phase) ${fmt(baseline)}/s`,
);
