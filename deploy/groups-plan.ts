// Run side of the scenario's groupSecurity (docs/group.md): the group manager's, ProSe Function's and UEs'
// role configuration, and the summary's group section (GMK distribution times, call set-up latency, media,
// drops by cause, and what removed members could still decrypt). The orchestrator calls these with a few lines.
import { randomBytes } from 'node:crypto';
import type { GroupManagerConfig } from '../nodes/roles/group-manager.js';
import type { KeyServerConfig } from '../nodes/roles/key-server.js';
import type { GroupKeysConfig } from '../nodes/roles/prose-function-group-keys.js';
import type { UeGroupConfig, UeGroupStatus } from '../nodes/roles/ue-group.js';
import type { NodeStatus } from '../nodes/runtime/protocol.js';
import type { GroupSecurityScenario } from './groups-scenario.js';
import type { Scenario } from './scenario.js';

type Endpoint = { host: string; port: number };

/** The run's network-supported groups (sol. #3.2): key server roleConfig without endpoints. */
export type KeyServerPlan = Omit<KeyServerConfig, 'nafFqdn'>;

/** Owner of an invitation group and who it invites (scenario defaults applied). */
export function invitationOf(
  g: GroupSecurityScenario['groups'][number],
  members: string[],
): {
  owner: string;
  invite: string[];
} {
  const owner = g.owner ?? members[0]!;
  return { owner, invite: (g.invite ?? members).filter((m) => m !== owner) };
}

export interface GroupSecurityPlan {
  /** Key server roleConfig (undefined: no network group). */
  keyServer?: KeyServerPlan;
  /** Group manager roleConfig without its KMS endpoint (undefined: no standard group). */
  groupManager?: Omit<GroupManagerConfig, 'kmsKeys'>;
  /** ProSe Function groupKeys (sol. #3.5). */
  pfGroupKeys?: GroupKeysConfig;
  /** UE id -> roleConfig.groupSecurity without the endpoints. */
  ues: Map<string, Omit<UeGroupConfig, 'kmsKeys' | 'groupManager' | 'keyServer'>>;
}

export function planGroupSecurity(
  s: Scenario,
  members: Map<string, string[]>,
): GroupSecurityPlan | undefined {
  const gs = s.groupSecurity;
  if (!gs) return undefined;
  const standard = gs.groups.filter((g) => g.solution === 'standard');
  const pc3 = gs.groups.filter((g) => g.solution === 'pc3');
  const ues = new Map<string, Omit<UeGroupConfig, 'kmsKeys' | 'groupManager' | 'keyServer'>>();
  for (const g of gs.groups) {
    for (const m of members.get(g.group) ?? []) {
      let u = ues.get(m);
      if (!u) {
        u = { groups: [], calls: [], media: gs.media };
        ues.set(m, u);
      }
      u.groups.push({
        groupId: g.group,
        solution: g.solution,
        mediaIntegrity: g.mediaIntegrity,
        mediaCipher: g.mediaCipher,
        ...(g.solution === 'network' ? { variant: g.variant ?? 'whitelist' } : {}),
        // The UEs' knobs only (anyoneMayFetch is the ProSe Function's); `?.` for hand-built plans in tests.
        insecure: {
          nullCipher: g.insecure?.nullCipher ?? false,
          noReplayProtection: g.insecure?.noReplayProtection ?? false,
          noCallReplayProtection: g.insecure?.noCallReplayProtection ?? false,
          skipGmkSignatureCheck: g.insecure?.skipGmkSignatureCheck ?? false,
        },
      });
    }
  }
  // Ad-hoc groups: the creator's list of members and removals; ports are filled by planAdhocPorts.
  for (const g of gs.groups.filter((x) => x.solution === 'adhoc')) {
    const ms = members.get(g.group) ?? [];
    const creator = g.creator ?? ms[0]!;
    for (const m of ms) {
      const u = ues.get(m)!;
      u.adhoc ??= { unicastPort: 0, peers: {}, groups: [] };
      u.adhoc.groups.push({
        groupId: g.group,
        creator,
        periodMs: g.gmkPeriod,
        members: m === creator ? ms.filter((x) => x !== creator) : [],
        removals: m === creator ? g.remove.map((r) => ({ member: r.member, afterMs: r.after })) : [],
      });
    }
  }
  const plan: GroupSecurityPlan = { ues };
  // Network-supported groups: a USIM (IMSI, K, OPc) per member, shared with the key server's subscriber store.
  const network = gs.groups.filter((x) => x.solution === 'network');
  if (network.length > 0) {
    const subscribers: KeyServerPlan['subscribers'] = [];
    let n = 0;
    for (const [id, u] of ues) {
      if (!u.groups.some((x) => x.solution === 'network')) continue;
      const sub = {
        ueId: id,
        imsi: `001019${String(++n).padStart(9, '0')}`,
        k: randomBytes(16).toString('hex'),
        opc: randomBytes(16).toString('hex'),
      };
      subscribers.push(sub);
      u.usim = { imsi: sub.imsi, k: sub.k, opc: sub.opc };
    }
    plan.keyServer = {
      subscribers,
      groups: network.map((g) => {
        const ms = members.get(g.group) ?? [];
        const variant = g.variant ?? 'whitelist';
        if (variant === 'whitelist') return { groupId: g.group, variant, members: ms, periodMs: g.gmkPeriod };
        const { owner, invite } = invitationOf(g, ms);
        const u = ues.get(owner)!;
        u.invite = [...(u.invite ?? []), { groupId: g.group, members: invite }];
        return { groupId: g.group, variant, members: ms, owner, periodMs: g.gmkPeriod };
      }),
    };
  }
  for (const c of gs.calls) {
    ues.get(c.initiator)?.calls.push({ groupId: c.group, atMs: c.at, durationMs: c.duration });
  }
  if (standard.length > 0) {
    plan.groupManager = {
      poolSize: gs.groupManagerWorkers,
      groups: standard.map((g) => ({
        groupId: g.group,
        members: members.get(g.group) ?? [],
        gmkPeriodMs: g.gmkPeriod,
        removals: g.remove.map((r) => ({ member: r.member, afterMs: r.after })),
      })),
    };
  }
  if (pc3.length > 0)
    plan.pfGroupKeys = pc3.map((g) => ({
      groupId: g.group,
      periodMs: g.gmkPeriod,
      algorithm: g.algorithm,
      ...(g.insecure?.anyoneMayFetch ? { insecure: { anyoneMayFetch: true } } : {}),
    }));
  return plan;
}

/**
 * Gives every UE of an ad-hoc group a fixed PC5 unicast port and tells each its ad-hoc peers' ports (creator:
 * its members; member: its creators). A UE with a direct link has its own unicast handling, so it cannot also be in
 * an ad-hoc group (a clear error, docs/group.md).
 */
export async function planAdhocPorts(
  plan: GroupSecurityPlan | undefined,
  directLinkUes: Set<string>,
  freePort: () => Promise<number>,
): Promise<void> {
  const adhocUes = [...(plan?.ues ?? [])].filter(([, u]) => u.adhoc);
  if (adhocUes.length === 0) return;
  const portOf = new Map<string, number>();
  for (const [id, u] of adhocUes) {
    if (directLinkUes.has(id))
      throw new Error(
        `scenario: ${id} is in directLinks and in the ad-hoc group ${u.adhoc!.groups[0]!.groupId}; a UE can be in one of the two only`,
      );
    portOf.set(id, await freePort());
  }
  for (const [id, u] of adhocUes) {
    u.adhoc!.unicastPort = portOf.get(id)!;
    for (const g of u.adhoc!.groups) {
      for (const peer of g.creator === id ? g.members : [g.creator]) u.adhoc!.peers[peer] = portOf.get(peer)!;
    }
  }
}

/** KMS roleConfig.groupManagers: each standard group -> the node id of its group manager (only it gets the keys). */
export function kmsGroupManagers(
  plan: GroupSecurityPlan | undefined,
  managerId: string,
): Record<string, string> {
  return Object.fromEntries((plan?.groupManager?.groups ?? []).map((g) => [g.groupId, managerId]));
}

/**
 * The scenario's `adversary.rogueGroupManager`: group -> the members pointed at the adversary's PC3 endpoint as that
 * group's manager (every member but the adversary's insider, whose credentials the adversary holds).
 */
export function rogueGroupManagerVictims(s: Scenario, members: Map<string, string[]>): Map<string, string[]> {
  const g = s.adversary?.rogueGroupManager;
  if (!g) return new Map();
  return new Map([[g, (members.get(g) ?? []).filter((m) => m !== s.adversary?.insider)]]);
}

/** The UE roleConfig.groupSecurity with the run's endpoints filled in. */
export function ueGroupConfig(
  plan: GroupSecurityPlan | undefined,
  ueId: string,
  kmsKeys: Endpoint,
  groupManager: Endpoint | undefined,
  keyServer?: Endpoint,
  /** Groups whose manager this UE is told is at another endpoint (the threat matrix's rogue group manager). */
  groupManagerOf?: Map<string, Endpoint>,
): UeGroupConfig | undefined {
  const u = plan?.ues.get(ueId);
  if (!u) return undefined;
  return {
    ...u,
    groups: u.groups.map((g) =>
      groupManagerOf?.has(g.groupId) ? { ...g, groupManager: groupManagerOf.get(g.groupId)! } : g,
    ),
    kmsKeys,
    ...(groupManager ? { groupManager } : {}),
    ...(keyServer && u.usim ? { keyServer } : {}),
  };
}

interface Dist {
  n: number;
  p50: number;
  p99: number;
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! * 1000) / 1000;
}

function dist(xs: number[]): Dist {
  return { n: xs.length, p50: pct(xs, 50), p99: pct(xs, 99) };
}

export interface GroupSecuritySummary {
  groups: {
    group: string;
    solution: string;
    /** network groups: whitelist or invitation. */
    variant?: string;
    members: number;
    /** Members that should hold the key (invitation groups: the owner and the invited; otherwise all). */
    keyHolders: number;
    /** Key installs at members (initial + rekeys/reconfigurations). */
    gmkInstalls: number;
    /** Per member: rekey started to key installed (standard); request to key installed (pc3). */
    gmkDistributionMs: Dist;
    /** Standard: rekeys at the group manager with the time until every member's I_MESSAGE was ready. */
    rekeys: { reason: string; members: number; readyMs?: number }[];
    calls: number;
    /** Initiator sent the call-init -> member installed the Group Security Context. */
    callSetupMs: Dist;
  }[];
  media: { sent: number; received: number; bytesReceived: number; duplicatesAccepted: number };
  /** Call-inits accepted again for a call already set up (replayed call set-ups that got through). */
  callReplaysAccepted: number;
  /** GMKs installed from I_MESSAGEs whose ECCSI signature does not verify (threat-matrix control only). */
  forgedGmksInstalled: number;
  /** Media PDUs deciphered in calls under such a forged GMK (the attacker's media read by a member). */
  forgedKeyMediaReceived: number;
  failuresByCause: Record<string, number>;
  removedMembers: {
    group: string;
    member: string;
    toldRemoved: boolean;
    decryptedAfterRemoval: number;
    callsSetUpAfterRemoval: number;
    decryptedAnyAfterRemoval: number;
    rejectedAfterRemoval: number;
  }[];
}

export function summariseGroupSecurity(
  s: Scenario,
  statuses: NodeStatus[],
  members: Map<string, string[]>,
): { summary: GroupSecuritySummary; problems: string[] } | undefined {
  const gs = s.groupSecurity;
  if (!gs) return undefined;
  const ueSt = new Map<string, UeGroupStatus>();
  for (const st of statuses) {
    const g = (st.details as { groupSecurity?: UeGroupStatus }).groupSecurity;
    if (st.role === 'ue' && g) ueSt.set(st.id, g);
  }
  const gm = statuses.find((x) => x.role === 'group-manager');
  const gmGroups =
    (gm?.details as { groups?: Record<string, { rekeys: GroupSecuritySummary['groups'][number]['rekeys'] }> })
      ?.groups ?? {};
  const problems: string[] = [];
  const failuresByCause: Record<string, number> = {};
  const media = { sent: 0, received: 0, bytesReceived: 0, duplicatesAccepted: 0 };
  let callReplaysAccepted = 0;
  let forgedGmksInstalled = 0;
  let forgedKeyMediaReceived = 0;
  for (const u of ueSt.values()) {
    forgedGmksInstalled += u.forgedGmksInstalled ?? 0;
    forgedKeyMediaReceived += u.forgedKeyMediaReceived ?? 0;
    media.sent += u.mediaSent;
    media.received += u.mediaReceived;
    media.bytesReceived += u.mediaBytesReceived;
    media.duplicatesAccepted += u.mediaDuplicatesAccepted ?? 0;
    callReplaysAccepted += u.callReplaysAccepted ?? 0;
    for (const [k, v] of Object.entries(u.failures)) failuresByCause[k] = (failuresByCause[k] ?? 0) + v;
  }
  const groups = gs.groups.map((g) => {
    const ms = members.get(g.group) ?? [];
    const sts = ms.map((m) => ueSt.get(m)).filter((x): x is UeGroupStatus => x !== undefined);
    const calls = gs.calls.filter((c) => c.group === g.group).length;
    const invitation = g.solution === 'network' && g.variant === 'invitation';
    // Members pointed at the adversary's rogue group manager (threat matrix) are not expected to hold the real key.
    const rogueVictims = rogueGroupManagerVictims(s, members).get(g.group)?.length ?? 0;
    return {
      group: g.group,
      solution: g.solution,
      ...(g.solution === 'network' ? { variant: g.variant ?? 'whitelist' } : {}),
      members: ms.length,
      keyHolders: invitation ? 1 + invitationOf(g, ms).invite.length : ms.length - rogueVictims,
      gmkInstalls: sts.reduce((a, u) => a + (u.groups[g.group]?.gmkInstalls ?? 0), 0),
      gmkDistributionMs: dist(sts.flatMap((u) => u.gmkInstallMs[g.group] ?? [])),
      rekeys: (gmGroups[g.group]?.rekeys ?? []).map((r) => ({
        reason: r.reason,
        members: r.members,
        ...(r.readyMs !== undefined ? { readyMs: r.readyMs } : {}),
      })),
      calls,
      callSetupMs: dist(sts.flatMap((u) => u.callSetupMs[g.group] ?? [])),
    };
  });
  const removedMembers: GroupSecuritySummary['removedMembers'] = [];
  for (const g of gs.groups) {
    for (const r of g.remove) {
      const u = ueSt.get(r.member)?.groups[g.group];
      const entry = {
        group: g.group,
        member: r.member,
        toldRemoved: u?.removedAtMs !== undefined,
        decryptedAfterRemoval: u?.decryptedAfterRemoval ?? 0,
        callsSetUpAfterRemoval: u?.callsSetUpAfterRemoval ?? 0,
        decryptedAnyAfterRemoval: u?.decryptedAnyAfterRemoval ?? 0,
        rejectedAfterRemoval: u?.rejectedAfterRemoval ?? 0,
      };
      removedMembers.push(entry);
      if (!entry.toldRemoved) problems.push(`group ${g.group}: ${r.member} was never told it was removed`);
      if (entry.decryptedAfterRemoval > 0 || entry.callsSetUpAfterRemoval > 0)
        problems.push(
          `group ${g.group}: removed member ${r.member} set up ${entry.callsSetUpAfterRemoval} calls and decrypted ${entry.decryptedAfterRemoval} PDUs after the rekey`,
        );
    }
  }
  for (const g of groups) {
    if (g.gmkInstalls < g.keyHolders) {
      // Every member installs at least one key (removed members included: they had the first GMK).
      problems.push(`group ${g.group}: only ${g.gmkInstalls} key installs for ${g.keyHolders} members`);
    }
    if (g.calls > 0 && g.callSetupMs.n === 0) problems.push(`group ${g.group}: no member set up any call`);
  }
  return {
    summary: {
      groups,
      media,
      callReplaysAccepted,
      forgedGmksInstalled,
      forgedKeyMediaReceived,
      failuresByCause,
      removedMembers,
    },
    problems,
  };
}

export function formatGroupSecurity(g: GroupSecuritySummary | undefined): string[] {
  if (!g) return [];
  const lines = ['', 'group security:'];
  for (const x of g.groups) {
    lines.push(
      `  ${x.group} (${x.solution}${x.variant ? `, ${x.variant}` : ''}): ${x.members} members${x.keyHolders < x.members ? ` (${x.keyHolders} invited)` : ''}, ${x.gmkInstalls} key installs, distribution per member p50 ${x.gmkDistributionMs.p50} ms p99 ${x.gmkDistributionMs.p99} ms`,
      `    calls ${x.calls}: set-up n=${x.callSetupMs.n} p50 ${x.callSetupMs.p50} ms  p99 ${x.callSetupMs.p99} ms`,
    );
    for (const r of x.rekeys)
      lines.push(
        `    rekey (${r.reason}): ${r.members} members, all I_MESSAGEs ready in ${r.readyMs ?? '?'} ms`,
      );
  }
  lines.push(
    `  media: sent ${g.media.sent} received ${g.media.received} (${g.media.bytesReceived} payload bytes)`,
  );
  const f = Object.entries(g.failuresByCause);
  if (f.length) lines.push(`  dropped by cause: ${f.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  for (const r of g.removedMembers)
    lines.push(
      `  removed ${r.member} from ${r.group}: told ${r.toldRemoved}, calls set up after rekey ${r.callsSetUpAfterRemoval}, PDUs decrypted ${r.decryptedAfterRemoval} (any call: ${r.decryptedAnyAfterRemoval}), rejected ${r.rejectedAfterRemoval}`,
    );
  return lines;
}
