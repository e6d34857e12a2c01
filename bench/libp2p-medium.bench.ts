// PC5 over libp2p vs UDP: frames/s one-to-one and one-to-many (fan-out 3), Libp2pPc5Medium against
// UdpPc5Medium in the same run, alternating the order per round; medians and the libp2p/UDP ratio.
// Set-up: every medium in this one process (sender and receivers share one event loop and one core), so a
// rate is the end-to-end CPU cost of a frame through each stack: encode, transport, decode, delivery.
// Flow control: at most WINDOW frames in flight (sent minus received by the slowest receiver), in batches of
// 64 with a yield between batches, so neither medium loses frames to overrun and the rates compare like for like.
// Bounded: a fixed frame count per round and a time cap per round.
// Run: npm run bench:libp2p   (env LP_BENCH_UNICAST=5000 LP_BENCH_GROUP=1000 LP_BENCH_ROUNDS=5)
import '../transport/pc5/promise-polyfill.js';
import { performance } from 'node:perf_hooks';
import { Libp2pPc5Medium } from '../transport/pc5/libp2p-medium.js';
import type { Pc5Group, Pc5Medium } from '../transport/pc5/medium.js';
import { prepareLoopbackMulticast } from '../transport/pc5/netenv.js';
import { UdpPc5Medium } from '../transport/pc5/udp-medium.js';
import { median } from './harness.js';

const UNICAST = Number(process.env.LP_BENCH_UNICAST ?? 5000);
const GROUP = Number(process.env.LP_BENCH_GROUP ?? 1000);
const ROUNDS = Number(process.env.LP_BENCH_ROUNDS ?? 5);
const FANOUT = 3;
/** Extra gossipsub settings as JSON (LP_BENCH_GOSSIPSUB='{"D":2}'), to explore mesh degrees. */
const GOSSIP = process.env.LP_BENCH_GOSSIPSUB
  ? (JSON.parse(process.env.LP_BENCH_GOSSIPSUB) as Record<string, unknown>)
  : undefined;
const WINDOW = 256;
const ROUND_CAP_MS = 15_000;
const PAYLOAD = new Uint8Array(1183); // 1,200-octet frames
const quiet = (): void => {};
const yieldNow = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * libp2p: the medium's defaults (unsigned messages, no gossipsub mesh: flood publish to every member).
 * libp2p-signed: gossipsub StrictSign (Ed25519 signature per group message, verified by every receiver).
 * libp2p-mesh: meshRelay (gossipsub mesh D = 6: every member also forwards to the others).
 */
type Kind = 'udp' | 'libp2p' | 'libp2p-signed' | 'libp2p-mesh';
const VARIANTS: Kind[] = ['libp2p-signed', 'libp2p-mesh'];

interface RoundResult {
  /** Frames received by all receivers together per second (first send to last receive). */
  deliveredPerSec: number;
  /** Frames sent per second by the sender over the same interval. */
  sentPerSec: number;
  lost: number;
  /** Process CPU (user + system) per delivered frame, microseconds: steadier than rates on a shared host. */
  cpuUsPerFrame: number;
}

async function makeMedia(kind: Kind, n: number): Promise<Pc5Medium[]> {
  const out: Pc5Medium[] = [];
  for (let i = 0; i < n; i++) {
    const m =
      kind === 'udp'
        ? new UdpPc5Medium({ l2Id: 100 + i, onError: quiet })
        : new Libp2pPc5Medium({
            l2Id: 100 + i,
            onError: quiet,
            signGroupMessages: kind === 'libp2p-signed',
            meshRelay: kind === 'libp2p-mesh',
            ...(GOSSIP ? { gossipsub: GOSSIP } : {}),
            bootstrap: out.map((x) => (x as Libp2pPc5Medium).multiaddrs[0]!),
          });
    await m.start();
    out.push(m);
  }
  return out;
}

async function round(kind: Kind, mode: 'unicast' | 'group', count: number): Promise<RoundResult> {
  const receivers = mode === 'unicast' ? 1 : FANOUT;
  const media = await makeMedia(kind, 1 + receivers);
  const [sender, ...rx] = media as [Pc5Medium, ...Pc5Medium[]];
  const group: Pc5Group = {
    address: `239.77.${(Math.random() * 250) | 0}.${1 + ((Math.random() * 250) | 0)}`,
    port: 47000 + ((Math.random() * 1000) | 0),
  };
  try {
    const got = rx.map(() => 0);
    let last = 0;
    rx.forEach((m, i) => {
      m.onFrame(() => {
        got[i]!++;
        last = performance.now();
      });
    });
    if (mode === 'group') for (const m of rx) await m.joinGroup(group);
    const to = rx[0]!.unicastAddress;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let sent = 0;
    while (sent < count && performance.now() - t0 < ROUND_CAP_MS) {
      const slowest = Math.min(...got);
      let batch = 0;
      while (batch < 64 && sent < count && sent - slowest < WINDOW) {
        const f = { type: 'test' as const, dstL2Id: 1, payload: PAYLOAD, seq: sent };
        if (mode === 'unicast') sender.sendUnicast(to, f);
        else sender.sendToGroup(group, f);
        sent++;
        batch++;
      }
      await yieldNow();
    }
    const tSent = performance.now();
    const expected = sent * receivers;
    const total = (): number => got.reduce((a, b) => a + b, 0);
    while (total() < expected && performance.now() - tSent < 3000) await new Promise((r) => setTimeout(r, 2));
    const cpu = process.cpuUsage(cpu0);
    const end = Math.max(last, tSent);
    const secs = (end - t0) / 1000;
    return {
      deliveredPerSec: total() / secs,
      sentPerSec: sent / secs,
      lost: expected - total(),
      cpuUsPerFrame: (cpu.user + cpu.system) / Math.max(1, total()),
    };
  } finally {
    await Promise.all(media.map((m) => m.close()));
  }
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

async function main(): Promise<void> {
  await prepareLoopbackMulticast();
  console.log(
    `# PC5 libp2p vs UDP, one process, 1,200-octet frames, window ${WINDOW}, ${ROUNDS} rounds; unicast ${UNICAST} frames, group ${GROUP} frames to ${FANOUT} members`,
  );
  console.log(
    `# load average at start: ${(await import('node:os'))
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  for (const mode of ['unicast', 'group'] as const) {
    const count = mode === 'unicast' ? UNICAST : GROUP;
    const res: Record<Kind, RoundResult[]> = { udp: [], libp2p: [], 'libp2p-signed': [], 'libp2p-mesh': [] };
    const kinds: Kind[] = mode === 'group' ? ['udp', 'libp2p', ...VARIANTS] : ['udp', 'libp2p'];
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? kinds : [...kinds].reverse();
      for (const k of order) res[k].push(await round(k, mode, count));
    }
    const med = (k: Kind, f: (x: RoundResult) => number): number => median(res[k].map(f));
    for (const k of kinds) {
      const d = res[k].map((x) => x.deliveredPerSec);
      console.log(
        `${mode.padEnd(8)} ${k.padEnd(13)} delivered ${fmt(med(k, (x) => x.deliveredPerSec)).padStart(8)} frames/s (${fmt(Math.min(...d))}-${fmt(Math.max(...d))})  sent ${fmt(med(k, (x) => x.sentPerSec)).padStart(8)} frames/s  CPU ${med(k, (x) => x.cpuUsPerFrame).toFixed(1)} us/frame  lost ${res[k].reduce((a, x) => a + x.lost, 0)}`,
      );
    }
    const ratios = res.libp2p.map((x, i) => x.deliveredPerSec / res.udp[i]!.deliveredPerSec);
    console.log(
      `${mode.padEnd(8)} ratio libp2p/udp (delivered) median ${median(ratios).toFixed(3)} (per round ${ratios.map((x) => x.toFixed(2)).join(', ')})`,
    );
    for (const v of mode === 'group' ? VARIANTS : []) {
      const r = res[v].map((x, i) => x.deliveredPerSec / res.libp2p[i]!.deliveredPerSec);
      console.log(
        `${mode.padEnd(8)} ratio ${v}/libp2p (delivered) median ${median(r).toFixed(3)} (per round ${r.map((x) => x.toFixed(2)).join(', ')})`,
      );
    }
  }
  console.log(
    `# load average at end: ${(await import('node:os'))
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
