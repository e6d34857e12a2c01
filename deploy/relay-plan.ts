// The UE-to-network relay part of a run (scenario field `relay`, docs/relay.md): node configurations for the AAA,
// the network sink, the relays and the remote UEs, and the summary section. Kept apart from orchestrator.ts.
import { randomBytes } from 'node:crypto';
import type { NodeStatus } from '../nodes/runtime/protocol.js';
import type { Scenario } from './scenario.js';

export interface RelayPlan {
  secret: string;
  subscribers: { imsi: string; k: string; opc: string }[];
  remoteUes: { id: string; relayIndex: number; roleConfig: Record<string, unknown> }[];
  relays: { id: string; rsc: string }[];
}

/** Subscribers (random K/OPc per remote UE), relay ids and RSCs, remote UE assignments. */
export function planRelay(s: Scenario): RelayPlan | undefined {
  const r = s.relay;
  if (!r) return undefined;
  const relays = Array.from({ length: r.relays }, (_, i) => ({
    id: `relay-${i + 1}`,
    rsc: (i + 1).toString(16).padStart(6, '0'),
  }));
  const subscribers: RelayPlan['subscribers'] = [];
  const remoteUes: RelayPlan['remoteUes'] = [];
  for (let i = 0; i < r.remoteUes; i++) {
    const imsi = `00101${String(i + 1).padStart(10, '0')}`;
    const sub = { imsi, k: randomBytes(16).toString('hex'), opc: randomBytes(16).toString('hex') };
    subscribers.push(sub);
    const wrongKey = i >= r.remoteUes - r.wrongKeyUes;
    const staleSqn = !wrongKey && i < r.staleSqnUes;
    const relayIndex = i % r.relays;
    // Behind the rogue relay-1 (scenario relay.rogue) authentication must fail, unless the peer skips the AT_MAC
    // check (the control) and only AT_MAC was tampered with.
    const skipAtMac = r.insecure?.peerSkipsAtMac ?? false;
    const tampered = !!r.rogue && relayIndex === 0 && !(r.rogue.tamper === 'at_mac' && skipAtMac);
    remoteUes.push({
      id: `remote-ue-${i + 1}`,
      relayIndex,
      roleConfig: {
        imsi,
        k: wrongKey ? randomBytes(16).toString('hex') : sub.k,
        opc: sub.opc,
        usimSeq: staleSqn ? 5000 : 0,
        rsc: relays[relayIndex]!.rsc,
        traffic: { rate: r.userData.rate, payloadBytes: r.userData.payloadBytes },
        expectFailure: wrongKey || tampered,
        ...(skipAtMac ? { insecure: { skipAtMac } } : {}),
      },
    });
  }
  return { secret: randomBytes(16).toString('hex'), subscribers, remoteUes, relays };
}

export interface RelaySummary {
  relays: number;
  remoteUes: number;
  authenticated: number;
  expectedFailures: number;
  unexpected: string[];
  resynchronised: number;
  /** Remote UEs whose authentication failed, by the peer's cause (e.g. bad_mac, autn_mac_failure). */
  failuresByCause: Record<string, number>;
  /** Challenges the remote UEs' peers processed although AT_MAC failed (only with relay.insecure.peerSkipsAtMac). */
  badMacAccepted: number;
  /** EAP-Request/AKA'-Challenge messages a rogue relay (relay.rogue) forwarded with a flipped bit. */
  tamperedChallenges: number;
  keySetupMs: { p50?: number; p99?: number; max?: number };
  userData: { sent: number; received: number; rttP50Ms?: number; rttP99Ms?: number };
  relayedBytes: { uplink: number; downlink: number };
  aaa: Record<string, unknown>;
}

function pct(xs: number[], p: number): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return (
    Math.round(s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]! * 1000) / 1000
  );
}

export function summariseRelay(
  s: Scenario,
  statuses: NodeStatus[],
  trafficRan: boolean,
): { summary: RelaySummary; problems: string[] } | undefined {
  if (!s.relay) return undefined;
  const problems: string[] = [];
  const remote = statuses.filter((x) => x.role === 'remote-ue');
  const relays = statuses.filter((x) => x.role === 'relay');
  const aaa = statuses.find((x) => x.role === 'aaa');
  const d = (x: NodeStatus) => x.details as Record<string, number | boolean | string | undefined>;
  const unexpected: string[] = [];
  let authenticated = 0;
  let expectedFailures = 0;
  let resynchronised = 0;
  let badMacAccepted = 0;
  const failuresByCause: Record<string, number> = {};
  const keySetup: number[] = [];
  const rtt50: number[] = [];
  const rtt99: number[] = [];
  let sent = 0;
  let received = 0;
  for (const x of remote) {
    const det = d(x);
    if (det.authenticated) authenticated++;
    if (det.expectFailure && !det.authenticated) expectedFailures++;
    if ((det.authenticated as boolean) === (det.expectFailure as boolean)) unexpected.push(x.id);
    if (typeof det.keySetupMs === 'number') keySetup.push(det.keySetupMs);
    if ((det.syncFailures as number) > 0 && det.authenticated) resynchronised++;
    badMacAccepted += (det.badMacAccepted as number) ?? 0;
    if (det.state === 'failed') {
      const cause = typeof det.failure === 'string' ? det.failure : 'unknown';
      failuresByCause[cause] = (failuresByCause[cause] ?? 0) + 1;
    }
    if (typeof det.rttP50Ms === 'number') rtt50.push(det.rttP50Ms);
    if (typeof det.rttP99Ms === 'number') rtt99.push(det.rttP99Ms);
    sent += (det.sent as number) ?? 0;
    received += (det.received as number) ?? 0;
    if (trafficRan && det.authenticated && s.relay.userData.rate > 0 && !((det.received as number) > 0)) {
      problems.push(`${x.id}: authenticated but no user data came back through the relay`);
    }
  }
  if (remote.length < s.relay.remoteUes)
    problems.push(`only ${remote.length}/${s.relay.remoteUes} remote UEs reported`);
  if (unexpected.length)
    problems.push(`remote UEs with an unexpected authentication outcome: ${unexpected.join(', ')}`);
  const sum = (k: string) => relays.reduce((a, x) => a + ((d(x)[k] as number) ?? 0), 0);
  const summary: RelaySummary = {
    relays: relays.length,
    remoteUes: remote.length,
    authenticated,
    expectedFailures,
    unexpected,
    resynchronised,
    failuresByCause,
    badMacAccepted,
    tamperedChallenges: sum('tamperedChallenges'),
    keySetupMs: { p50: pct(keySetup, 50), p99: pct(keySetup, 99), max: pct(keySetup, 100) },
    userData: { sent, received, rttP50Ms: pct(rtt50, 50), rttP99Ms: pct(rtt99, 99) },
    relayedBytes: { uplink: sum('upBytes'), downlink: sum('downBytes') },
    aaa: aaa ? { ...(aaa.details as object) } : {},
  };
  return { summary, problems };
}

export function formatRelaySummary(r: RelaySummary): string[] {
  const a = r.aaa as {
    accept?: number;
    reject?: number;
    resyncs?: number;
    rejectCauses?: Record<string, number>;
  };
  const causes = Object.entries(a.rejectCauses ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return [
    '',
    `relay: ${r.relays} relay(s), remote UEs authenticated via relay ${r.authenticated}/${r.remoteUes}` +
      (r.expectedFailures ? ` (+${r.expectedFailures} rejected as expected)` : '') +
      (r.resynchronised ? `, ${r.resynchronised} after SQN resynchronisation` : ''),
    `  EAP-AKA' key setup (remote UE, first EAP packet -> keys installed): p50 ${r.keySetupMs.p50 ?? '-'} ms, p99 ${r.keySetupMs.p99 ?? '-'} ms`,
    `  user data via relay: sent ${r.userData.sent}, echoed back ${r.userData.received}, RTT p50 ${r.userData.rttP50Ms ?? '-'} ms, p99 ${r.userData.rttP99Ms ?? '-'} ms`,
    ...(r.tamperedChallenges || r.badMacAccepted
      ? [
          `  rogue relay: ${r.tamperedChallenges} challenges tampered; remote UEs accepted ${r.badMacAccepted} with a bad AT_MAC; failures: ${
            Object.entries(r.failuresByCause)
              .map(([k, v]) => `${k}=${v}`)
              .join(' ') || 'none'
          }`,
        ]
      : []),
    `  relayed bytes: uplink ${r.relayedBytes.uplink}, downlink ${r.relayedBytes.downlink}`,
    `  AAA: accept ${a.accept ?? 0}, reject ${a.reject ?? 0}${causes ? ` (${causes})` : ''}, resyncs ${a.resyncs ?? 0}`,
  ];
}
