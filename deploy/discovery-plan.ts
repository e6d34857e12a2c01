// Run side of ProSe discovery (docs/discovery.md): the scenario section, the ProSe Function's allocation policy
// and each UE's discovery config, the revocation schedule, and the summary section (who discovered whom, before
// and after the revocation, against what the permissions allow). The orchestrator calls these with a few lines.
import { z } from 'zod';
import type { DiscoveryPolicyConfig } from '../nodes/roles/prose-function-discovery.js';
import type { UeDiscoveryConfig, UeDiscoveryStatus } from '../nodes/roles/ue-discovery.js';
import type { NodeStatus } from '../nodes/runtime/protocol.js';
import type { Scenario } from './scenario.js';

const name = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, dot, dash, underscore (1-64)');
const durationMs = z
  .union([z.number().nonnegative(), z.string().regex(/^\d+(\.\d+)?(ms|s|m)$/, 'a duration like 500ms or 2s')])
  .transform((v) => {
    if (typeof v === 'number') return Math.round(v * 1000);
    const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(v)!;
    return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm']);
  });

/** Scenario field `discovery` (absent: no discovery). */
export const discoveryScenarioSchema = z
  .object({
    /** ProSe Application ID the users register for. */
    applicationId: name.default('prosec-chat'),
    /** Restricted discovery fresh value: option 1 'nonce' (in the message) or option 2 'time-slot' (UTC-based). */
    restrictedOption: z.enum(['nonce', 'time-slot']).default('time-slot'),
    /** Time slot length (UTC-based counter period) for option 2 and for open-discovery signatures. */
    slot: durationMs.default(500),
    announceEvery: durationMs.default(250),
    restricted: z.boolean().default(true),
    open: z.boolean().default(true),
    /**
     * Rotate the PC5 source Layer-2 ID of announcements with the over-the-air ID (default true); false keeps the UE's
     * one L2 ID, which lets a passive observer link every announcement (the baseline of the linkability check).
     */
    rotateL2Id: z.boolean().default(true),
    /**
     * INSECURE, for the threat matrix's control only (`prosec attack`): monitors keep no replay cache
     * (`noReplayProtection`); open-discovery monitors accept announcements whose signature fails (`acceptUnsigned`);
     * the ProSe Function runs without its registration DoS throttle (`noRegistrationThrottle`, key issue #2.5).
     */
    insecure: z
      .object({
        noReplayProtection: z.boolean().default(false),
        acceptUnsigned: z.boolean().default(false),
        noRegistrationThrottle: z.boolean().default(false),
      })
      .strict()
      .default({ noReplayProtection: false, acceptUnsigned: false, noRegistrationThrottle: false }),
    /**
     * Model B (solution #2.2): every user also sends discovery requests for the users that permit it, every
     * `requestEvery`; responses carry a MIC under the target's key, checked by the discoverer (`verifyAt: local`) or
     * by the ProSe Function from a match report over PC3 (`prose-function`: the discoverer holds only K_id).
     */
    modelB: z
      .object({
        verifyAt: z.enum(['local', 'prose-function']).default('local'),
        requestEvery: durationMs.default(500),
      })
      .strict()
      .optional(),
    /** Application users: which UE (EPSID) each ALUID belongs to, and whom it permits to discover it. */
    users: z
      .array(z.object({ ue: z.string(), aluid: name, permits: z.array(name).default([]) }).strict())
      .min(1)
      .max(500),
    /** UEs that try to register another user's ALUID (must be rejected, TR 33.833 key issue #2.6). */
    impostors: z
      .array(z.object({ ue: z.string(), claims: name }).strict())
      .max(50)
      .default([]),
    /** "Unfriend" during the traffic phase: `announcer` stops permitting `monitor` at `at`. */
    revoke: z.object({ at: durationMs, announcer: name, monitor: name }).strict().optional(),
  })
  .strict();
export type DiscoveryScenario = z.output<typeof discoveryScenarioSchema>;

/** Cross-field checks (called from the scenario's superRefine). */
export function checkDiscoveryScenario(
  d: DiscoveryScenario,
  ueIdsInScenario: Set<string>,
  duration: number,
): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const aluids = new Set(d.users.map((u) => u.aluid));
  const ues = new Set<string>();
  d.users.forEach((u, i) => {
    if (!ueIdsInScenario.has(u.ue)) issues.push({ path: ['users', i, 'ue'], message: `no UE named ${u.ue}` });
    if (ues.has(u.ue)) issues.push({ path: ['users', i, 'ue'], message: `${u.ue} has two users` });
    ues.add(u.ue);
    u.permits.forEach((p, j) => {
      if (!aluids.has(p)) issues.push({ path: ['users', i, 'permits', j], message: `no user ${p}` });
    });
  });
  if (aluids.size !== d.users.length) issues.push({ path: ['users'], message: 'duplicate ALUID' });
  d.impostors.forEach((x, i) => {
    if (!ueIdsInScenario.has(x.ue))
      issues.push({ path: ['impostors', i, 'ue'], message: `no UE named ${x.ue}` });
    if (ues.has(x.ue)) issues.push({ path: ['impostors', i, 'ue'], message: `${x.ue} is already a user` });
    if (!aluids.has(x.claims))
      issues.push({ path: ['impostors', i, 'claims'], message: `no user ${x.claims}` });
  });
  if (d.revoke) {
    const a = d.users.find((u) => u.aluid === d.revoke!.announcer);
    if (!a?.permits.includes(d.revoke.monitor))
      issues.push({ path: ['revoke'], message: `${d.revoke.announcer} does not permit ${d.revoke.monitor}` });
    if (d.revoke.at >= duration)
      issues.push({ path: ['revoke', 'at'], message: 'after the end of the traffic phase' });
  }
  return issues;
}

export interface DiscoveryPlan {
  policy: DiscoveryPolicyConfig;
  ues: Map<string, UeDiscoveryConfig>;
  revoke?: { atMs: number; command: string };
}

export function planDiscovery(s: Scenario): DiscoveryPlan | undefined {
  const d = s.discovery;
  if (!d) return undefined;
  const ues = new Map<string, UeDiscoveryConfig>();
  const common = {
    applicationId: d.applicationId,
    announceEveryMs: d.announceEvery,
    restricted: d.restricted,
    open: d.open,
    rotateL2Id: d.rotateL2Id,
    noReplayProtection: d.insecure.noReplayProtection,
    acceptUnsigned: d.insecure.acceptUnsigned,
    ...(d.modelB ? { modelB: { verifyAt: d.modelB.verifyAt, requestEveryMs: d.modelB.requestEvery } } : {}),
  };
  for (const u of d.users) ues.set(u.ue, { aluid: u.aluid, ...common });
  for (const x of d.impostors) ues.set(x.ue, { aluid: `impostor-${x.ue}`, claimAluid: x.claims, ...common });
  return {
    policy: {
      applicationId: d.applicationId,
      option: d.restrictedOption,
      slotMs: d.slot,
      users: d.users.map((u) => ({ ueId: u.ue, aluid: u.aluid, permits: u.permits })),
    },
    ues,
    ...(d.revoke
      ? {
          revoke: {
            atMs: d.revoke.at,
            command: `discovery-revoke ${d.revoke.announcer} ${d.revoke.monitor}`,
          },
        }
      : {}),
  };
}

export interface DiscoveryUserSummary {
  aluid: string;
  ue: string;
  /** Restricted discovery: whom this monitor is permitted to discover, and whom it did (before the revocation). */
  expectedBefore: string[];
  discoveredBefore: string[];
  /** After the revocation (absent without one). */
  expectedAfter?: string[];
  discoveredAfter?: string[];
  /** Open discovery: every other registered user. */
  expectedOpen: string[];
  discoveredOpen: string[];
  /** Model B (when configured): whom this discoverer may find (permitted before the revocation) and found. */
  expectedModelB?: string[];
  discoveredModelB?: string[];
  /** Restricted discovery: announcements rejected by this monitor, by cause. */
  rejected: Record<string, number>;
}

export interface DiscoverySummary {
  option: string;
  users: DiscoveryUserSummary[];
  impostorsRejected: number;
  impostors: number;
  revokedAtMs?: number;
  announcementsSent: number;
  hmacs: number;
  signatureVerifications: number;
  rejected: Record<string, number>;
  /** Restricted announcements accepted again (replays that got through; 0 with the defences on). */
  replaysAccepted: number;
  /** Open announcements matched although not signed by their owner (forgeries that got through; 0 when defended). */
  forgeriesAccepted: number;
  problems: string[];
}

export function summariseDiscovery(
  s: Scenario,
  statuses: NodeStatus[],
  revokedAtMs: number | undefined,
  trafficRan: boolean,
  /**
   * netns proximity model (deploy/netns-plan.ts): (monitor UE, announcer UE) pairs long enough in range to discover
   * (`solid`: must be found) and ever in range (`ever`: may be found); others must not be. Absent: everyone in reach.
   */
  reach?: { solid: (a: string, b: string) => boolean; ever: (a: string, b: string) => boolean },
): DiscoverySummary | undefined {
  const d = s.discovery;
  if (!d) return undefined;
  const byUe = new Map<string, UeDiscoveryStatus>();
  for (const st of statuses) {
    const x = (st.details as { discovery?: UeDiscoveryStatus }).discovery;
    if (x && st.role === 'ue') byUe.set(st.id, x);
  }
  const grace = 2 * Math.max(d.announceEvery, d.slot) + 1000;
  const problems: string[] = [];
  const rejected: Record<string, number> = {};
  const registered = d.users.filter((u) => byUe.get(u.ue)?.registered).map((u) => u.aluid);
  const users: DiscoveryUserSummary[] = d.users.map((u) => {
    const st = byUe.get(u.ue);
    const permittedBy = (revoked: boolean) =>
      d.users
        .filter((a) => a.aluid !== u.aluid && a.permits.includes(u.aluid))
        .filter(
          (a) => !(revoked && d.revoke && a.aluid === d.revoke.announcer && u.aluid === d.revoke.monitor),
        )
        .map((a) => a.aluid)
        .sort();
    const r = st?.discovered.restricted ?? {};
    const before = Object.entries(r)
      .filter(([, p]) => revokedAtMs === undefined || p.firstMs < revokedAtMs)
      .map(([k]) => k)
      .sort();
    const out: DiscoveryUserSummary = {
      aluid: u.aluid,
      ue: u.ue,
      expectedBefore: d.restricted ? permittedBy(false) : [],
      discoveredBefore: before,
      expectedOpen: d.open ? registered.filter((x) => x !== u.aluid).sort() : [],
      discoveredOpen: Object.keys(st?.discovered.open ?? {}).sort(),
      ...(d.modelB
        ? {
            expectedModelB: permittedBy(false),
            discoveredModelB: Object.entries(st?.discovered.modelB ?? {})
              .filter(([, p]) => revokedAtMs === undefined || p.firstMs < revokedAtMs)
              .map(([k]) => k)
              .sort(),
          }
        : {}),
      rejected: st?.rejectedByCause ?? {},
    };
    if (revokedAtMs !== undefined) {
      out.expectedAfter = d.restricted ? permittedBy(true) : [];
      out.discoveredAfter = Object.entries(r)
        .filter(([, p]) => p.lastMs > revokedAtMs + grace)
        .map(([k]) => k)
        .sort();
    }
    for (const [k, v] of Object.entries(out.rejected)) rejected[k] = (rejected[k] ?? 0) + v;
    if (trafficRan && reach) {
      // Reach follows the geometry: found ⊇ permitted ∩ solidly in range, found ⊆ permitted ∩ ever in range.
      const ueOf = new Map(d.users.map((x) => [x.aluid, x.ue]));
      const check = (what: string, expected: string[], found: string[] | undefined) => {
        const must = expected.filter((a) => reach.solid(u.ue, ueOf.get(a)!));
        const may = new Set(expected.filter((a) => reach.ever(u.ue, ueOf.get(a)!)));
        const f = found ?? [];
        const missing = must.filter((a) => !f.includes(a));
        const extra = f.filter((a) => !may.has(a));
        if (missing.length || extra.length)
          problems.push(
            `discovery: ${u.aluid} ${what} found [${f}]: missing in-range [${missing}], found out of reach or unpermitted [${extra}]`,
          );
      };
      if (d.restricted) check('restricted', out.expectedBefore, out.discoveredBefore);
      if (out.expectedModelB) check('Model B', out.expectedModelB, out.discoveredModelB);
      check('open', out.expectedOpen, out.discoveredOpen);
    } else if (trafficRan) {
      const eq = (a: string[], b: string[]) => a.join(',') === b.join(',');
      if (!eq(out.expectedBefore, out.discoveredBefore))
        problems.push(
          `discovery: ${u.aluid} discovered [${out.discoveredBefore}] but is permitted [${out.expectedBefore}]`,
        );
      if (out.expectedAfter && !eq(out.expectedAfter, out.discoveredAfter ?? []))
        problems.push(
          `discovery: after the revocation ${u.aluid} discovered [${out.discoveredAfter}] but is permitted [${out.expectedAfter}]`,
        );
      if (out.expectedModelB && !eq(out.expectedModelB, out.discoveredModelB ?? []))
        problems.push(
          `discovery: ${u.aluid} Model B discovered [${out.discoveredModelB}] but is permitted [${out.expectedModelB}]`,
        );
      if (!eq(out.expectedOpen, out.discoveredOpen))
        problems.push(
          `discovery: ${u.aluid} open-discovered [${out.discoveredOpen}], expected [${out.expectedOpen}]`,
        );
    }
    return out;
  });
  const impostorsRejected = d.impostors.filter((x) => byUe.get(x.ue)?.rejected === 'aluid_mismatch').length;
  if (impostorsRejected < d.impostors.length)
    problems.push(
      `discovery: ${d.impostors.length - impostorsRejected} impostor ALUID registrations not rejected`,
    );
  if (d.revoke && trafficRan && revokedAtMs === undefined)
    problems.push('discovery: the revocation never happened');
  const all = [...byUe.values()];
  return {
    option: d.restrictedOption,
    users,
    impostors: d.impostors.length,
    impostorsRejected,
    ...(revokedAtMs !== undefined ? { revokedAtMs } : {}),
    announcementsSent: all.reduce((a, x) => a + x.announcementsSent, 0),
    hmacs: all.reduce((a, x) => a + x.hmacs, 0),
    signatureVerifications: all.reduce((a, x) => a + x.verifications, 0),
    rejected,
    replaysAccepted: all.reduce((a, x) => a + (x.replaysAccepted ?? 0), 0),
    forgeriesAccepted: all.reduce((a, x) => a + (x.forgeriesAccepted ?? 0), 0),
    problems,
  };
}

export function formatDiscovery(d: DiscoverySummary | undefined): string[] {
  if (!d) return [];
  const lines = [
    '',
    `discovery (restricted option ${d.option}): ${d.announcementsSent} announcements, ${d.hmacs} HMACs and ${d.signatureVerifications} signature checks by monitors; impostor ALUIDs rejected ${d.impostorsRejected}/${d.impostors}`,
  ];
  const list = (xs: string[] | undefined) => (xs?.length ? xs.join(',') : '-');
  for (const u of d.users) {
    let line = `  ${u.aluid} (${u.ue}): restricted ${list(u.discoveredBefore)} (permitted ${list(u.expectedBefore)})`;
    if (u.expectedAfter)
      line += `; after revocation ${list(u.discoveredAfter)} (permitted ${list(u.expectedAfter)})`;
    line += `; open ${list(u.discoveredOpen)}`;
    if (u.expectedModelB)
      line += `; Model B ${list(u.discoveredModelB)} (permitted ${list(u.expectedModelB)})`;
    lines.push(line);
  }
  const rej = Object.entries(d.rejected).filter(([, v]) => v > 0);
  if (rej.length)
    lines.push(`  rejected announcements by cause: ${rej.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  return lines;
}
