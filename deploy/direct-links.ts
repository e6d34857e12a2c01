// Run side of the scenario's PC5 direct links: which UEs pair up (with fixed PC5 unicast ports so each initiator
// knows its peer in advance), and the summary section (links up, set-up p50/p99 per method, user bytes, re-keys,
// packets lost, integrity failures, replays). The orchestrator calls these with a few lines.
import { createSocket } from 'node:dgram';
import type { DirectLinkConfig, DirectLinkStatus } from '../nodes/roles/ue-direct-link.js';
import type { NodeStatus } from '../nodes/runtime/protocol.js';
import type { Scenario } from './scenario.js';

export function freeUdpPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolvePort(port));
    });
  });
}

/** Direct link roleConfig per UE id (empty when the scenario has no directLinks). */
export async function planDirectLinks(
  s: Scenario,
  ueIdsInOrder: string[],
  kmsKeys: { host: string; port: number },
): Promise<Map<string, DirectLinkConfig>> {
  const out = new Map<string, DirectLinkConfig>();
  const d = s.directLinks;
  if (!d) return out;
  const maxPairs = Math.floor(ueIdsInOrder.length / 2);
  const pairs = d.pairs === 'all-adjacent' ? maxPairs : Math.min(d.pairs, maxPairs);
  const policy = {
    signallingCiphering: d.ciphering.signalling,
    userPlaneCiphering: d.ciphering.userPlane,
    userPlaneIntegrity: d.userPlaneIntegrity,
  };
  for (let i = 0; i < pairs; i++) {
    const a = ueIdsInOrder[2 * i]!;
    const b = ueIdsInOrder[2 * i + 1]!;
    const [pa, pb] = [await freeUdpPort(), await freeUdpPort()];
    const common = {
      kdMethod: d.kdMethod,
      policy,
      rate: d.rate,
      payloadBytes: d.payloadBytes,
      ...(d.rekeyEvery ? { rekeyEveryMs: d.rekeyEvery } : {}),
      // Only the INSECURE knobs that are on (each is logged by the node).
      ...(Object.values(d.insecure).some(Boolean)
        ? { insecure: Object.fromEntries(Object.entries(d.insecure).filter(([, v]) => v)) }
        : {}),
      kmsKeys,
    };
    out.set(a, { role: 'initiator', peerId: b, unicastPort: pa, peerPort: pb, ...common });
    out.set(b, { role: 'responder', peerId: a, unicastPort: pb, peerPort: pa, ...common });
  }
  return out;
}

/** Scenario adversary.mitmDirectLink: the adversary's relay port between the first pair's two UEs. */
export interface MitmPlan {
  port: number;
  initiator: { id: string; port: number };
  responder: { id: string; port: number };
}

/**
 * Puts the adversary in the path of the first pair (scenario adversary.mitmDirectLink): both UEs get a port the
 * adversary will bind as their peer's address — as if it had won discovery — so every frame of the link reaches
 * it, and it relays them on (nodes/roles/adversary.ts). Changes the two UEs' configs in `links`.
 */
export async function planMitm(
  s: Scenario,
  links: Map<string, DirectLinkConfig>,
): Promise<MitmPlan | undefined> {
  if (!s.adversary?.mitmDirectLink) return undefined;
  const first = [...links].find(([, c]) => c.role === 'initiator');
  if (!first) return undefined;
  const [initiator, ic] = first;
  const rc = links.get(ic.peerId)!;
  const port = await freeUdpPort();
  const plan = {
    port,
    initiator: { id: initiator, port: ic.unicastPort },
    responder: { id: ic.peerId, port: rc.unicastPort },
  };
  links.set(initiator, { ...ic, peerPort: port });
  links.set(ic.peerId, { ...rc, peerPort: port });
  return plan;
}

export interface DirectLinkSummary {
  pairs: number;
  linksUp: number;
  setupFailures: number;
  /** Initial set-ups, measured by the initiators (DCR sent to DSMC verified), per KD method. */
  setupMs: Record<string, { n: number; p50: number; p99: number }>;
  rekeys: number;
  rekeySetupMs: { n: number; p50: number; p99: number };
  released: number;
  packetsSent: number;
  packetsReceived: number;
  packetsLost: number;
  userBytes: number;
  /** User payload octets received per second of traffic phase, all links together. */
  userThroughputBytesPerSecond: number;
  integrityFailures: number;
  replaysDropped: number;
  rejected: Record<string, number>;
  /** Failed link set-ups by cause (`rejected_by_peer:<cause>` when the peer named one). */
  setupFailuresByCause: Record<string, number>;
  /** Chosen_algs of the initiators' link set-ups (not re-keys): count. */
  setupAlgs: Record<string, number>;
  /** DSMCs accepted with an altered Supported_algs/policy (bidding down; 0 while the echo check runs). */
  biddingDownAccepted: number;
  /** DSMCs accepted whose Nonce_2 the link had already accepted (a replayed DSMC). */
  dsmcReplaysAccepted: number;
  /**
   * Scenario adversary.mitmDirectLink: the pair the adversary sits between; the signalling-plane integrity failures
   * at those two UEs are its injected DSMCs (expected, not a run problem).
   */
  mitm?: { initiator: string; responder: string; signallingIntegrityFailures: number };
  /** Scenario directLinks.revoke: pairs with a revoked UE, how many of their links came up (must be 0). */
  revoked?: { ues: string[]; pairs: number; linksUp: number; refusedCertRevoked: number };
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! * 1000) / 1000;
}

function dist(xs: number[]) {
  return { n: xs.length, p50: pct(xs, 50), p99: pct(xs, 99) };
}

/** The summary section, or undefined when the scenario has no directLinks. */
export function summariseDirectLinks(
  s: Scenario,
  statuses: NodeStatus[],
  trafficSeconds: number,
  pairs: number,
  mitm?: MitmPlan,
): DirectLinkSummary | undefined {
  if (!s.directLinks) return undefined;
  const withIds = statuses
    .map((st) => ({ id: st.id, d: (st.details as { directLink?: DirectLinkStatus }).directLink }))
    .filter((x): x is { id: string; d: DirectLinkStatus } => x.d !== undefined);
  const dls = withIds.map((x) => x.d);
  const revokedSet = new Set(s.directLinks.revoke);
  const revokedInitiators = withIds.filter(
    (x) => x.d.role === 'initiator' && (revokedSet.has(x.id) || revokedSet.has(x.d.peer)),
  );
  const sum = (f: (d: DirectLinkStatus) => number) => dls.reduce((a, d) => a + f(d), 0);
  const setup: Record<string, number[]> = {};
  for (const d of dls) setup[d.method] = [...(setup[d.method] ?? []), ...d.setupMs];
  const add = (into: Record<string, number>, from: Record<string, number> | undefined) => {
    for (const [k, v] of Object.entries(from ?? {})) into[k] = (into[k] ?? 0) + v;
  };
  const rejected: Record<string, number> = {};
  const setupFailuresByCause: Record<string, number> = {};
  const setupAlgs: Record<string, number> = {};
  for (const d of dls) {
    add(rejected, d.rejected);
    add(setupFailuresByCause, d.setupFailuresByCause);
    if (d.role === 'initiator') add(setupAlgs, d.setupAlgs);
  }
  const mitmIds = mitm ? new Set([mitm.initiator.id, mitm.responder.id]) : new Set<string>();
  const received = sum((d) => d.packetsReceived);
  const sent = sum((d) => d.packetsSent);
  const userBytes = sum((d) => d.userBytesReceived);
  return {
    pairs,
    linksUp: sum((d) => (d.role === 'initiator' ? d.linksUp : 0)),
    setupFailures: sum((d) => d.setupFailures),
    setupMs: Object.fromEntries(Object.entries(setup).map(([k, v]) => [k, dist(v)])),
    rekeys: sum((d) => d.rekeySetupMs.length),
    rekeySetupMs: dist(dls.flatMap((d) => d.rekeySetupMs)),
    released: sum((d) => d.released),
    packetsSent: sent,
    packetsReceived: received,
    packetsLost: Math.max(0, sent - received),
    userBytes,
    userThroughputBytesPerSecond: trafficSeconds > 0 ? Math.round(userBytes / trafficSeconds) : 0,
    integrityFailures: sum((d) => d.integrityFailures),
    replaysDropped: sum((d) => d.replaysDropped),
    rejected,
    setupFailuresByCause,
    setupAlgs,
    biddingDownAccepted: sum((d) => d.biddingDownAccepted ?? 0),
    dsmcReplaysAccepted: sum((d) => d.dsmcReplaysAccepted ?? 0),
    ...(mitm
      ? {
          mitm: {
            initiator: mitm.initiator.id,
            responder: mitm.responder.id,
            signallingIntegrityFailures: withIds
              .filter((x) => mitmIds.has(x.id))
              .reduce((a, x) => a + (x.d.integrityFailuresByPlane?.signalling ?? 0), 0),
          },
        }
      : {}),
    ...(revokedSet.size > 0
      ? {
          revoked: {
            ues: [...revokedSet],
            pairs: revokedInitiators.length,
            linksUp: revokedInitiators.reduce((a, x) => a + x.d.linksUp, 0),
            refusedCertRevoked: rejected.cert_revoked ?? 0,
          },
        }
      : {}),
  };
}

/** Problems a direct link run shows (links not up, packets lost, integrity failures). */
export function directLinkProblems(d: DirectLinkSummary | undefined): string[] {
  if (!d) return [];
  const p: string[] = [];
  const revokedPairs = d.revoked?.pairs ?? 0;
  const revokedUp = d.revoked?.linksUp ?? 0;
  if (d.linksUp - revokedUp < d.pairs - revokedPairs)
    p.push(`direct links: only ${d.linksUp - revokedUp} of ${d.pairs - revokedPairs} links came up`);
  if (revokedUp > 0) p.push(`direct links: ${revokedUp} links with a revoked certificate came up`);
  if (d.packetsLost > 0) p.push(`direct links: ${d.packetsLost} user packets lost`);
  // A man in the middle's injected DSMCs fail integrity at its two UEs by design (threat matrix `dsmc-replay`).
  const integrity = d.integrityFailures - (d.mitm?.signallingIntegrityFailures ?? 0);
  if (integrity > 0) p.push(`direct links: ${integrity} integrity failures`);
  return p;
}

export function formatDirectLinks(d: DirectLinkSummary | undefined): string[] {
  if (!d) return [];
  const lines = [
    '',
    `direct links: ${d.linksUp}/${d.pairs} up, ${d.released} released, ${d.setupFailures} set-up failures`,
  ];
  for (const [m, x] of Object.entries(d.setupMs))
    lines.push(`  set-up (${m}): n=${x.n} p50 ${x.p50} ms  p99 ${x.p99} ms`);
  lines.push(
    `  re-keys ${d.rekeys} (p50 ${d.rekeySetupMs.p50} ms, p99 ${d.rekeySetupMs.p99} ms)` +
      `  user packets sent ${d.packetsSent} received ${d.packetsReceived} lost ${d.packetsLost}`,
    `  user bytes ${d.userBytes} (${(d.userThroughputBytesPerSecond / 1e6).toFixed(3)} MB/s)` +
      `  integrity failures ${d.integrityFailures}  replays dropped ${d.replaysDropped}`,
  );
  if (d.revoked) {
    lines.push(
      `  revoked certificates: ${d.revoked.ues.join(',')}: ${d.revoked.pairs} pairs, ${d.revoked.linksUp} of their links up (expected 0), refused with cert_revoked ${d.revoked.refusedCertRevoked} times`,
    );
  }
  if (d.mitm)
    lines.push(
      `  man in the middle between ${d.mitm.initiator} and ${d.mitm.responder}: ${d.biddingDownAccepted} set-ups accepted with an altered offer, ${d.dsmcReplaysAccepted} replayed DSMCs accepted, ${d.mitm.signallingIntegrityFailures} signalling integrity failures (its injections)`,
    );
  const algs = Object.entries(d.setupAlgs ?? {});
  if (algs.length) lines.push(`  set-up algorithms: ${algs.map(([k, v]) => `${k} x${v}`).join(' ')}`);
  const rej = Object.entries(d.rejected).filter(([, v]) => v > 0);
  if (rej.length) lines.push(`  dropped by cause: ${rej.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  return lines;
}
