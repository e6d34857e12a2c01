// PC5 direct link benchmarks on loopback, initiators in this process, responders in a child process
// (bench/direct-link-peer.ts), real UDP through UdpPc5Medium:
// 1. link establishment (DCR -> DSMC -> Complete) with certificate KD and IDENTITY KD: p50/p99 for 1 and for 100
//    simultaneous set-ups; baseline: a UDP request/response round trip between the same two processes.
// 2. user-plane throughput over one protected link, 1,200-byte packets, 128-NEA2 (and NEA1, NEA3), against
//    unprotected frames over the same sockets and flow control in the same run.
// Bounded: fixed counts and a time cap per phase; the child is killed by PID at the end, even on error.
// Run: npm run bench:direct-link   (env DL_BENCH_SEQ=100 DL_BENCH_SIMUL=100 DL_BENCH_PACKETS=30000)
import { type ChildProcess, fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { generateKmsMasterKeys, issueBundle, serializeBundle } from '../crypto-core/kms-bundle.js';
import { eccsiPrecompute } from '../crypto-core/rfc6507-eccsi.js';
import { sakkePrecompute } from '../crypto-core/rfc6508-sakke.js';
import { identityFor } from '../crypto-core/rfc6509-identity.js';
import { DirectLinkEndpoint, type DirectLinkOutput } from '../procedures/direct-link/direct-link.js';
import { CertificateKdMethod, loadCertificateTrust } from '../procedures/direct-link/kd-certificate.js';
import { IdentityKdMethod, ueIdentityUri } from '../procedures/direct-link/kd-identity.js';
import type { SecurityPolicy, SupportedAlgs } from '../procedures/direct-link/messages.js';
import { createCrl, createNodeCredentials, createTestbedCa } from '../transport/pc3/pki.js';
import { UdpPc5Medium } from '../transport/pc5/udp-medium.js';
import type { PeerCommand, PeerReply } from './direct-link-peer.js';
import { median, percentile } from './harness.js';

const SEQ = Number(process.env.DL_BENCH_SEQ ?? 100);
const SIMUL = Number(process.env.DL_BENCH_SIMUL ?? 100);
const PACKETS = Number(process.env.DL_BENCH_PACKETS ?? 100_000);
const ROUNDS = Number(process.env.DL_BENCH_ROUNDS ?? 5);
const PHASE_CAP_MS = 60_000;
const PAYLOAD = 1200;
const WINDOW = Number(process.env.DL_BENCH_WINDOW ?? 1500);

const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) {
    if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {}
    }
  }
});

class Peer {
  private waiters: ((m: PeerReply) => void)[] = [];
  onProgress: (n: number) => void = () => {};
  constructor(readonly child: ChildProcess) {
    child.on('message', (m: PeerReply) => {
      if (m.t === 'progress') this.onProgress(m.packets);
      else this.waiters.shift()?.(m);
    });
  }
  static spawn(): Peer {
    const script = join(dirname(fileURLToPath(import.meta.url)), 'direct-link-peer.js');
    const child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(child);
    return new Peer(child);
  }
  ask<T extends PeerReply>(cmd: PeerCommand): Promise<T> {
    return new Promise((resolve) => {
      this.waiters.push(resolve as (m: PeerReply) => void);
      this.child.send(cmd);
    });
  }
  async exit(): Promise<void> {
    this.child.send({ t: 'exit' });
    await new Promise((r) => this.child.once('exit', r));
  }
}

const ca = await createTestbedCa();
const a = await createNodeCredentials(ca, { nodeId: 'ue-a', role: 'ue' });
const b = await createNodeCredentials(ca, { nodeId: 'ue-b', role: 'ue' });
const crlPem = await createCrl(ca, []);
const trust = await loadCertificateTrust(ca.certPem, crlPem);
const master = generateKmsMasterKeys('kms.bench.prosec.test');
const now = new Date();
const bundleA = issueBundle(master, identityFor(ueIdentityUri('ue-a'), now), now);
const bundleB = issueBundle(master, identityFor(ueIdentityUri('ue-b'), now), now);
sakkePrecompute(bundleA.Z_S, bundleA.RSK);
eccsiPrecompute(bundleA.KPAK);
const certificate = new CertificateKdMethod({ certPem: a.certPem, keyPem: a.keyPem, trust });
const identity = new IdentityKdMethod('ue-a', bundleA);

interface Side {
  medium: UdpPc5Medium;
  ep: DirectLinkEndpoint;
  peerPort: number;
  events: DirectLinkOutput[];
}

async function setUp(n: number, policy: SecurityPolicy, algs: SupportedAlgs) {
  const peer = Peer.spawn();
  const ready = await peer.ask<Extract<PeerReply, { t: 'ready' }>>({
    t: 'init',
    n,
    selfId: 'ue-b',
    certPem: b.certPem,
    keyPem: b.keyPem,
    caCertPem: ca.certPem,
    crlPem,
    bundleJson: serializeBundle(bundleB),
    policy,
    supportedAlgs: algs,
  });
  const sides: Side[] = [];
  for (let i = 0; i < n; i++) {
    const medium = new UdpPc5Medium({ l2Id: 0x200000 + i });
    await medium.start();
    const ep = new DirectLinkEndpoint({
      selfId: 'ue-a',
      now: () => performance.now(),
      policy,
      supportedAlgs: algs,
      methods: { certificate, identity },
    });
    const side: Side = { medium, ep, peerPort: ready.ports[i]!, events: [] };
    medium.onFrame((frame, meta) => {
      const from = `${meta.from.host}:${meta.from.port}`;
      if (frame.type === 'test') {
        side.events.push({ kind: 'data', linkId: -1, payload: frame.payload });
        return;
      }
      const outs =
        frame.type === 'unicast_signalling'
          ? ep.receiveSignalling(from, frame.payload)
          : ep.receiveData(from, frame.payload);
      deliver(side, outs);
    });
    sides.push(side);
  }
  return { peer, sides };
}

function deliver(side: Side, outs: DirectLinkOutput[]): void {
  for (const o of outs) {
    if (o.kind === 'send') {
      side.medium.sendUnicast(
        { host: '127.0.0.1', port: side.peerPort },
        {
          type: o.plane === 'signalling' ? 'unicast_signalling' : 'unicast_data',
          dstL2Id: 1,
          payload: o.bytes,
        },
      );
    } else side.events.push(o);
  }
}

const until = async (cond: () => boolean, capMs: number) => {
  const end = performance.now() + capMs;
  while (!cond() && performance.now() < end) await new Promise((r) => setImmediate(r));
  return cond();
};

const POLICY: SecurityPolicy = {
  signallingCiphering: true,
  userPlaneCiphering: true,
  userPlaneIntegrity: false,
};
const ALL: SupportedAlgs = { nea: 0b1111, nia: 0b1110 };

/** One link set-up per call on side `s`; resolves with the initiator's set-up time (ms). */
async function oneSetup(s: Side, method: 'certificate' | 'identity'): Promise<number | undefined> {
  const before = s.events.length;
  const { linkId, out } = s.ep.connect(`127.0.0.1:${s.peerPort}`, 'ue-b', method);
  deliver(s, out);
  const ok = await until(
    () => s.events.slice(before).some((e) => e.kind === 'established' || e.kind === 'failed'),
    10_000,
  );
  const e = s.events.slice(before).find((x) => x.kind === 'established');
  s.ep.forget(linkId);
  return ok && e?.kind === 'established' ? e.setupMs : undefined;
}

/** Baseline: a PC5 frame of DCR size to the peer process and back (echoed), same sockets, same event loops. */
async function rtt(s: Side, count: number): Promise<number[]> {
  const out: number[] = [];
  const ping = new Uint8Array(300).fill(0xee);
  for (let i = 0; i < count; i++) {
    const before = s.events.length;
    const t0 = performance.now();
    s.medium.sendUnicast(
      { host: '127.0.0.1', port: s.peerPort },
      { type: 'test', dstL2Id: 1, payload: ping },
    );
    if (await until(() => s.events.length > before, 2000)) out.push(performance.now() - t0);
  }
  return out;
}

function line(name: string, xs: number[], base?: number): void {
  const p50 = median(xs);
  const parts = [
    name.padEnd(52),
    `n=${xs.length}`.padStart(7),
    `p50 ${p50.toFixed(3)} ms`.padStart(16),
    `p99 ${percentile(xs, 99).toFixed(3)} ms`.padStart(16),
  ];
  if (base !== undefined) parts.push(`ratio ${(p50 / base).toFixed(1)}x the UDP round trip`);
  console.log(parts.join('  '));
}

console.log(
  `direct link benchmarks (loopback, initiators here, responders in a child process); load average ${(
    await import('node:os')
  )
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
console.log('\n1. link establishment (DCR -> DSMC -> Complete), set-up time measured by the initiator');
if (process.env.DL_BENCH_SKIP_SETUP) console.log('  (skipped: DL_BENCH_SKIP_SETUP)');
else {
  const { peer, sides } = await setUp(Math.max(1, SIMUL), POLICY, ALL);
  const s0 = sides[0]!;
  // Baseline measured first and last; its median is the reference.
  const base = await rtt(s0, 200);
  for (const method of ['certificate', 'identity'] as const) {
    const count = method === 'certificate' ? SEQ : Math.max(10, Math.round(SEQ / 4));
    for (let i = 0; i < 3; i++) await oneSetup(s0, method); // warm-up (JIT, tables)
    const seq: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < count && performance.now() - t0 < PHASE_CAP_MS; i++) {
      const ms = await oneSetup(s0, method);
      if (ms !== undefined) seq.push(ms);
    }
    const baseMs = median(base);
    line(`${method}: 1 set-up at a time`, seq, baseMs);
    if (SIMUL > 1) {
      const simul: number[] = [];
      const rounds = method === 'certificate' ? ROUNDS : Math.max(1, Math.round(ROUNDS / 2));
      for (let r = 0; r < rounds; r++) {
        const res = await Promise.all(sides.map((s) => oneSetup(s, method)));
        for (const x of res) if (x !== undefined) simul.push(x);
      }
      line(`${method}: ${SIMUL} simultaneous set-ups (${rounds} rounds)`, simul, baseMs);
    }
  }
  const base2 = await rtt(s0, 200);
  line('baseline: 300-octet PC5 frame round trip, before', base);
  line('baseline: 300-octet PC5 frame round trip, after', base2);
  for (const s of sides) await s.medium.close();
  await peer.exit();
}

console.log(
  `\n2. user-plane throughput over one link, ${PAYLOAD}-byte packets, ${PACKETS} per round, median of ${ROUNDS} rounds`,
);
async function pump(
  peer: Peer,
  s: Side,
  sendOne: () => void,
): Promise<{ mbps: number; lost: number; txUs: number; rxUs: number }> {
  await peer.ask({ t: 'reset' });
  const cpu0 = process.cpuUsage();
  let acked = 0;
  peer.onProgress = (n) => {
    acked = n;
  };
  const t0 = performance.now();
  let sent = 0;
  while (sent < PACKETS && performance.now() - t0 < PHASE_CAP_MS) {
    if (sent - acked > WINDOW) {
      await new Promise((r) => setImmediate(r));
      continue;
    }
    for (let i = 0; i < 64 && sent < PACKETS; i++, sent++) sendOne();
    await new Promise((r) => setImmediate(r));
  }
  await s.medium.drain();
  let last = -1;
  let rep = await peer.ask<Extract<PeerReply, { t: 'report' }>>({ t: 'report' });
  // Wait until the receiver stops counting (bounded).
  for (let i = 0; i < 50 && rep.packets !== last && rep.packets < sent; i++) {
    last = rep.packets;
    await new Promise((r) => setTimeout(r, 50));
    rep = await peer.ask({ t: 'report' });
  }
  const secs = Number(BigInt(rep.lastNs) - BigInt(rep.firstNs)) / 1e9;
  const c = process.cpuUsage(cpu0);
  return {
    mbps: rep.bytes / secs / 1e6,
    lost: sent - rep.packets,
    txUs: (c.user + c.system) / sent,
    rxUs: rep.cpuUs / Math.max(1, rep.packets),
  };
}

for (const alg of [2, 1, 3] as const) {
  const algs: SupportedAlgs = { nea: 1 << alg, nia: 0b0100 };
  const { peer, sides } = await setUp(1, POLICY, algs);
  const s = sides[0]!;
  deliver(s, s.ep.connect(`127.0.0.1:${s.peerPort}`, 'ue-b', 'certificate').out);
  await until(() => s.events.some((e) => e.kind === 'established'), 10_000);
  const linkId = s.ep.linkIds()[0]!;
  const payload = new Uint8Array(PAYLOAD);
  const raw: number[] = [];
  const prot: number[] = [];
  const cpu = {
    rawTx: [] as number[],
    rawRx: [] as number[],
    protTx: [] as number[],
    protRx: [] as number[],
  };
  let lostRaw = 0;
  let lostProt = 0;
  for (let r = 0; r < ROUNDS; r++) {
    // Interleaved rounds: unprotected frames, then the protected link, over the same sockets.
    const u = await pump(peer, s, () =>
      s.medium.sendUnicast({ host: '127.0.0.1', port: s.peerPort }, { type: 'test', dstL2Id: 1, payload }),
    );
    const p = await pump(peer, s, () => deliver(s, s.ep.sendData(linkId, payload)));
    raw.push(u.mbps);
    prot.push(p.mbps);
    cpu.rawTx.push(u.txUs);
    cpu.rawRx.push(u.rxUs);
    cpu.protTx.push(p.txUs);
    cpu.protRx.push(p.rxUs);
    lostRaw += u.lost;
    lostProt += p.lost;
  }
  const mr = median(raw);
  const mp = median(prot);
  if (alg === 2)
    console.log(`  baseline: unprotected frames, same sockets   ${mr.toFixed(1)} MB/s (lost ${lostRaw})`);
  console.log(
    `  128-NEA${alg} protected link (no UP integrity)      ${mp.toFixed(1)} MB/s (lost ${lostProt})   ratio ${(mp / mr).toFixed(3)} vs unprotected ${mr.toFixed(1)} MB/s in the same run`,
  );
  console.log(
    `    CPU per packet (us, median): unprotected sender ${median(cpu.rawTx).toFixed(1)} receiver ${median(cpu.rawRx).toFixed(1)};` +
      ` NEA${alg} sender ${median(cpu.protTx).toFixed(1)} receiver ${median(cpu.protRx).toFixed(1)}`,
  );
  await s.medium.close();
  await peer.exit();
}
process.exit(0);
