// EAP-AKA' key setup through a UE-to-network relay on loopback: real aaa, network and relay processes; remote UEs
// (RemoteUeClient, one PC5 UDP medium each) in this process. Key setup = first EAP packet at the remote UE to PC5
// keys installed (what prosec_key_setup_seconds{procedure="eap_aka_prime"} measures). Reports p50/p99 for 1, 10
// and 50 remote UEs authenticating at once through one relay, against a same-run baseline: the same EAP-AKA'
// exchange between the sans-I/O server and peer in one process (no sockets, no relay, no RADIUS).
import { performance } from 'node:perf_hooks';
import { RemoteUeClient, remoteUeConfigSchema } from '../nodes/roles/remote-ue.js';
import { UdpPc5Medium } from '../transport/pc5/udp-medium.js';
import { median, percentile } from './harness.js';
import { inProcessAuth, inProcessServer, peerFor, startNode, stopNodes, subscribers } from './relay-nodes.js';

const LEVELS = (process.env.LEVELS ?? '1,10,50').split(',').map(Number);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const SINGLE_SAMPLES = Number(process.env.SINGLE_SAMPLES ?? 40);
const SECRET = 'bench-secret';
const subs = subscribers(60);

async function main() {
  // Same-run baseline: in-process EAP-AKA' (server + peer), per authentication.
  const server = inProcessServer(subs);
  const peers = subs.map((s) => peerFor(s));
  const base: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    if (!inProcessAuth(server, peers[i % peers.length]!)) throw new Error('in-process auth failed');
    base.push(performance.now() - t);
  }
  const aaa = await startNode('aaa', 'aaa', { secret: SECRET, networkName: 'WLAN', subscribers: subs });
  const net = await startNode('network', 'network', {});
  const relay = await startNode('relay', 'relay-1', {
    aaa: { host: '127.0.0.1', port: aaa.endpoints.radius },
    secret: SECRET,
    network: { host: '127.0.0.1', port: net.endpoints.userPlane },
    maxRemoteUes: 100_000,
  });
  const relayAddr = { host: '127.0.0.1', port: relay.endpoints.pc5!, l2Id: relay.endpoints.l2Id! };
  let nextL2 = 0x100;

  /** `n` remote UEs start at once; returns each one's key setup (ms). Bounded by a 20 s deadline. */
  const wave = async (n: number): Promise<number[]> => {
    const ues: { ue: RemoteUeClient; medium: UdpPc5Medium }[] = [];
    const media = await Promise.all(
      Array.from({ length: n }, async () => {
        const m = new UdpPc5Medium({ l2Id: nextL2++ });
        await m.start();
        return m;
      }),
    );
    for (let i = 0; i < n; i++) {
      const s = subs[i % subs.length]!;
      const cfg = remoteUeConfigSchema.parse({ imsi: s.imsi, k: s.k, opc: s.opc, relay: relayAddr });
      ues.push({ ue: new RemoteUeClient(media[i]!, cfg), medium: media[i]! });
    }
    const deadline = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000).unref());
    const states = await Promise.all(ues.map(({ ue }) => Promise.race([ue.settled(), deadline])));
    const out = ues.filter((_, i) => states[i] === 'up').map(({ ue }) => ue.keySetupMs!);
    for (const { ue, medium } of ues) {
      ue.close();
      await medium.close();
    }
    if (out.length < n) console.log(`  (level ${n}: only ${out.length}/${n} authenticated in time)`);
    return out;
  };

  await wave(5); // warm-up
  console.log(
    `EAP-AKA' key setup through one relay (remote UE: first EAP packet -> keys installed), loopback`,
  );
  console.log(
    `baseline in-process EAP-AKA' (sans-I/O server+peer): median ${median(base).toFixed(3)} ms, p99 ${percentile(base, 99).toFixed(3)} ms`,
  );
  for (const n of LEVELS) {
    const all: number[] = [];
    const rounds = n === 1 ? SINGLE_SAMPLES : ROUNDS;
    for (let r = 0; r < rounds; r++) all.push(...(await wave(n)));
    const p50 = median(all);
    console.log(
      `${String(n).padStart(3)} remote UE(s) at once: p50 ${p50.toFixed(3)} ms  p99 ${percentile(all, 99).toFixed(3)} ms  (${all.length} samples)  ratio p50 ${(p50 / median(base)).toFixed(1)}x the in-process baseline`,
    );
  }
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => stopNodes());
