// Scenario files (YAML): what a run contains. Validated at the boundary; errors name the field path and the reason.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ATTACK_IDS, type AttackId } from '../nodes/adversary/index.js';
import { checkDiscoveryScenario, discoveryScenarioSchema } from './discovery-plan.js';
import { groupSecurityIssues, groupSecuritySchema } from './groups-scenario.js';
import { LIBP2P_MAX_UES } from './libp2p-plan.js';
import { checkNetnsScenario, netnsScenarioSchema } from './netns-plan.js';

/** A duration such as "30s", "500ms", "2m", "1h" (or a bare number of seconds). */
const duration = z
  .union([
    z.number().nonnegative(),
    z.string().regex(/^\d+(\.\d+)?(ms|s|m|h)$/, 'a duration like 500ms, 30s, 2m or 1h'),
  ])
  .transform((v) => parseDurationMs(v));

export function parseDurationMs(v: number | string): number {
  if (typeof v === 'number') return Math.round(v * 1000);
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v);
  if (!m) throw new Error(`not a duration: ${v}`);
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(n * unit);
}

const nodeId = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes, starting with a letter');

const groupSchema = z
  .object({
    id: nodeId,
    /** 'all' UEs, the first N UEs ({ count: N }), or an explicit list of UE ids. */
    members: z.union([
      z.literal('all'),
      z.object({ count: z.number().int().positive() }).strict(),
      z.array(nodeId).min(1),
    ]),
  })
  .strict();

const trafficSchema = z
  .object({
    /** One-to-many frames each UE sends to each of its groups, per second. */
    groupRate: z.number().nonnegative().max(10_000).default(2),
    /** Payload octets of each group frame. */
    payloadBytes: z.number().int().min(16).max(1400).default(200),
    /**
     * Subscribed UEs re-register with the ProSe Function (new PC3 connection + register_request) this often during
     * the traffic phase; the summary's `reRegistrations` counts how many were served (absent: none).
     */
    reRegisterEvery: duration.optional(),
  })
  .strict();

const relaySchema = z
  .object({
    relays: z.number().int().min(1).max(16).default(1),
    remoteUes: z.number().int().min(0).max(500),
    /** Access network name in AT_KDF_INPUT (RFC 5448 3.1). */
    networkName: z.string().min(1).max(253).default('WLAN'),
    /** The AAA starts every authentication with AT_ANY_ID_REQ (exercises AT_CHECKCODE). */
    requestIdentity: z.boolean().default(false),
    /** Remote UEs whose USIM holds a wrong K (not the HSS's): they must be rejected. */
    wrongKeyUes: z.number().int().min(0).max(100).default(0),
    /** Remote UEs whose USIM SQN is ahead of the HSS: they authenticate after resynchronisation. */
    staleSqnUes: z.number().int().min(0).max(100).default(0),
    userData: z
      .object({
        rate: z.number().nonnegative().max(1000).default(5),
        payloadBytes: z.number().int().min(16).max(1400).default(200),
      })
      .strict()
      .default({ rate: 5, payloadBytes: 200 }),
    /**
     * The ATTACK side of threat-matrix row `rogue-relay` (docs/threat-matrix.md): relay-1 is rogue and flips one bit
     * of AT_MAC (or AT_AUTN) in every EAP-Request/AKA'-Challenge it forwards to its remote UEs.
     */
    rogue: z
      .object({ tamper: z.enum(['at_mac', 'at_autn']).default('at_mac') })
      .strict()
      .optional(),
    /**
     * INSECURE, for the threat matrix's control only (`prosec attack`): `peerSkipsAtMac` makes the remote UEs'
     * EAP-AKA' peer process a challenge whose AT_MAC does not verify.
     */
    insecure: z
      .object({ peerSkipsAtMac: z.boolean().default(false) })
      .strict()
      .optional(),
  })
  .strict();

const directLinksSchema = z
  .object({
    /** Pairs (ue-1, ue-2), (ue-3, ue-4), ...: the first N, or every adjacent pair. The first of a pair initiates. */
    pairs: z
      .union([z.number().int().positive().max(2500), z.literal('all-adjacent')])
      .default('all-adjacent'),
    /** KD establishment: certificate (ECDH signed with the UE certificate) or identity (MIKEY-SAKKE, sol. #4.3). */
    kdMethod: z.enum(['certificate', 'identity']).default('certificate'),
    ciphering: z
      .object({ signalling: z.boolean().default(true), userPlane: z.boolean().default(true) })
      .strict()
      .default({ signalling: true, userPlane: true }),
    /** User-plane integrity protection (off by default, TR 33.833 key issue #4.2). */
    userPlaneIntegrity: z.boolean().default(false),
    /** User packets per second each UE of a pair sends over its link. */
    rate: z.number().nonnegative().max(20_000).default(50),
    payloadBytes: z.number().int().min(16).max(1400).default(1200),
    /** Direct re-keying period (the initiator re-keys while data flows); none when absent. */
    rekeyEvery: duration.optional(),
    /**
     * UEs whose certificates the KMS revokes (on the CRL from their enrollment on): their links must be refused
     * with cause cert_revoked (certificate KD only).
     */
    revoke: z.array(nodeId).max(100).default([]),
    /**
     * INSECURE, for the threat matrix's control only (`prosec attack`): `nullCipher` makes every UE offer only
     * 128-NEA0 in Supported_algs, so links are "ciphered" with the null algorithm (user data in clear);
     * `noEchoCheck`: UE_1 does not compare the DSMC's echoed Supported_algs/policy with what it sent;
     * `noTranscriptBinding`: KD establishment (the certificate KD signatures) leaves Supported_algs/policy out;
     * `reuseNonce1`: one Nonce_1 per link in every request, so a recorded DSMC verifies again.
     */
    insecure: z
      .object({
        nullCipher: z.boolean().default(false),
        noEchoCheck: z.boolean().default(false),
        noTranscriptBinding: z.boolean().default(false),
        reuseNonce1: z.boolean().default(false),
      })
      .strict()
      .default({ nullCipher: false, noEchoCheck: false, noTranscriptBinding: false, reuseNonce1: false }),
  })
  .strict();

export type DirectLinksScenario = z.output<typeof directLinksSchema>;

export const scenarioSchema = z
  .object({
    name: z.string().min(1).max(80),
    description: z.string().max(2000).optional(),
    /** How long the traffic phase runs once every node is ready. */
    duration: duration.default(10_000),
    /** How long to wait for every node to become ready before failing the run. */
    readyTimeout: duration.default(60_000),
    roles: z
      .object({
        'prose-function': z.literal(1).default(1),
        kms: z.literal(1).default(1),
        ue: z.number().int().min(0).max(5000),
      })
      .strict(),
    ues: z
      .object({
        idPrefix: z
          .string()
          .regex(/^[a-z][a-z0-9-]{0,30}$/)
          .default('ue-'),
        /** UEs that run but are not in the ProSe Function's subscription list (they must be rejected). */
        unsubscribed: z.number().int().min(0).max(1000).default(0),
      })
      .strict()
      .default({ idPrefix: 'ue-', unsubscribed: 0 }),
    groups: z.array(groupSchema).max(64).default([]),
    traffic: trafficSchema.default({ groupRate: 2, payloadBytes: 200 }),
    /** ProSe configuration validity handed out at registration (TS 33.303: configuration has a validity time). */
    configValidity: duration.default(3_600_000),
    metrics: z
      .object({
        /** prom-client's default process metrics (about 0.24% CPU per idle process; turn off for large runs). */
        processMetrics: z.boolean().default(true),
      })
      .strict()
      .default({ processMetrics: true }),
    /** What to do when a node process dies during the run: keep going (reported) or abort the run. */
    onNodeFailure: z.enum(['continue', 'abort']).default('continue'),
    /** UE-to-network relay part (docs/relay.md): an AAA, a network sink, relays and remote UEs. Absent: none. */
    relay: relaySchema.optional(),
    /** PC5 one-to-one direct links between pairs of UEs (docs/direct-link.md); none when absent. */
    directLinks: directLinksSchema.optional(),
    /** One-to-many group security: GMK solution per group, removals, group calls (docs/group.md); none when absent. */
    groupSecurity: groupSecuritySchema.optional(),
    /** ProSe discovery: users, permissions, restricted/open announcements, revocation (docs/discovery.md). */
    discovery: discoveryScenarioSchema.optional(),
    /**
     * PC5 medium of the UEs (docs/pc5.md): udp = UDP multicast/unicast on loopback; libp2p = gossipsub topic per
     * group and libp2p streams over TCP, for clusters without IP multicast (relays, remote UEs and the adversary
     * stay on UDP).
     */
    pc5: z
      .object({ medium: z.enum(['udp', 'libp2p']).default('udp') })
      .strict()
      .default({ medium: 'udp' }),
    /** An adversary process on the PC5 groups running attack modules (docs/threat-matrix.md; `prosec attack`). */
    adversary: z
      .object({
        attacks: z.array(z.enum(ATTACK_IDS as [AttackId, ...AttackId[]])).min(1),
        /**
         * A subscribed UE whose credentials the adversary holds (a compromised UE): it enrolls and registers as that
         * UE and asks the ProSe Function for the keys of the groups that UE is not a member of (`group-key-fetch`).
         */
        insider: nodeId.optional(),
        /**
         * A standard group whose members (but the insider) are pointed at the adversary's PC3 endpoint as the group's
         * manager (`gmk-forgery`): it holds a group-manager TLS certificate of the run's CA but not the group
         * identity's ECCSI key, and serves forged I_MESSAGEs. Needs `insider` (the key it signs with).
         */
        rogueGroupManager: nodeId.optional(),
        /**
         * A subscribed UE (not the insider) whose re-registrations (traffic.reRegisterEvery) are pointed at the
         * adversary's PC3 endpoint (`rogue-config-server`, TR 33.833 #1.1): a certificate of the run's CA for another
         * role (group manager) serves it a forged ProSe configuration. The UE sends group test frames (at least 5/s).
         */
        rogueConfigServer: nodeId.optional(),
        /**
         * Control run only (logged INSECURE by the UE): the rogueConfigServer UE accepts a PC3 server certificate of
         * any role at re-registration, not only a ProSe Function's.
         */
        insecure: z
          .object({ acceptAnyConfigServer: z.boolean().default(false) })
          .strict()
          .optional(),
        /**
         * A man in the middle on the first direct link pair (`link-downgrade`, `dsmc-replay`): both UEs are given the
         * adversary's PC5 unicast address as their peer (as if it had won discovery) and it relays every frame.
         */
        mitmDirectLink: z.boolean().default(false),
      })
      .strict()
      .optional(),
    /** Network-namespace mode (`prosec up --netns`): link impairments and the proximity model (docs/netns.md). */
    netns: netnsScenarioSchema.optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    for (const i of groupSecurityIssues(s.groupSecurity, groupMembers(s as Scenario)))
      ctx.addIssue({ code: 'custom', path: ['groupSecurity', ...i.path], message: i.message });
    s.groups.forEach((g, i) => {
      if (typeof g.members === 'object' && 'count' in g.members && g.members.count > s.roles.ue) {
        ctx.addIssue({
          code: 'custom',
          path: ['groups', i, 'members', 'count'],
          message: `group has ${g.members.count} members but the scenario has only ${s.roles.ue} UEs`,
        });
      }
    });
    const ids = new Set(Array.from({ length: s.roles.ue }, (_, i) => `${s.ues.idPrefix}${i + 1}`));
    s.groups.forEach((g, i) => {
      if (!Array.isArray(g.members)) return;
      g.members.forEach((m, j) => {
        if (!ids.has(m)) {
          ctx.addIssue({
            code: 'custom',
            path: ['groups', i, 'members', j],
            message: `no UE named ${m} in this scenario`,
          });
        }
      });
    });
    s.directLinks?.revoke.forEach((id, i) => {
      const n = /^ue-(\d+)$/.exec(id);
      if (!n || Number(n[1]) < 1 || Number(n[1]) > s.roles.ue)
        ctx.addIssue({
          code: 'custom',
          path: ['directLinks', 'revoke', i],
          message: `no UE named ${id} in this scenario`,
        });
    });
    if (s.directLinks && s.directLinks.revoke.length > 0 && s.directLinks.kdMethod !== 'certificate') {
      ctx.addIssue({
        code: 'custom',
        path: ['directLinks', 'revoke'],
        message: 'revocation applies to certificates: it needs kdMethod certificate',
      });
    }
    if (s.directLinks && typeof s.directLinks.pairs === 'number' && s.directLinks.pairs * 2 > s.roles.ue) {
      ctx.addIssue({
        code: 'custom',
        path: ['directLinks', 'pairs'],
        message: `${s.directLinks.pairs} pairs need ${s.directLinks.pairs * 2} UEs but the scenario has ${s.roles.ue}`,
      });
    }
    if (s.adversary?.insider !== undefined && !ids.has(s.adversary.insider))
      ctx.addIssue({
        code: 'custom',
        path: ['adversary', 'insider'],
        message: `no UE named ${s.adversary.insider} in this scenario`,
      });
    const rogue = s.adversary?.rogueGroupManager;
    if (rogue !== undefined) {
      const g = s.groupSecurity?.groups.find((x) => x.group === rogue);
      const ms = groupMembers(s as Scenario).get(rogue) ?? [];
      const problem =
        g?.solution !== 'standard'
          ? `${rogue} is not a standard group of groupSecurity`
          : s.adversary?.insider === undefined
            ? 'needs adversary.insider (the key the rogue signs with)'
            : ms.every((m) => m === s.adversary?.insider)
              ? `${rogue} has no member other than the insider`
              : undefined;
      if (problem)
        ctx.addIssue({ code: 'custom', path: ['adversary', 'rogueGroupManager'], message: problem });
    }
    const rcs = s.adversary?.rogueConfigServer;
    if (rcs !== undefined) {
      const problem = !ids.has(rcs)
        ? `no UE named ${rcs} in this scenario`
        : rcs === s.adversary?.insider
          ? 'the insider cannot be the victim'
          : !s.traffic.reRegisterEvery
            ? 'needs traffic.reRegisterEvery (the re-registrations pointed at the rogue)'
            : ![...groupMembers(s as Scenario).values()].some((m) => m.includes(rcs))
              ? `${rcs} is in no group`
              : undefined;
      if (problem)
        ctx.addIssue({ code: 'custom', path: ['adversary', 'rogueConfigServer'], message: problem });
    }
    if (s.adversary?.mitmDirectLink && !s.directLinks)
      ctx.addIssue({
        code: 'custom',
        path: ['adversary', 'mitmDirectLink'],
        message: 'a man in the middle on a direct link needs directLinks',
      });
    for (const [i, a] of (s.adversary?.attacks ?? []).entries())
      if ((a === 'link-downgrade' || a === 'dsmc-replay') && !s.adversary?.mitmDirectLink)
        ctx.addIssue({
          code: 'custom',
          path: ['adversary', 'attacks', i],
          message: `${a} needs the adversary in the path: set adversary.mitmDirectLink: true`,
        });
    if (s.discovery) {
      for (const issue of checkDiscoveryScenario(s.discovery, ids, s.duration))
        ctx.addIssue({ code: 'custom', path: ['discovery', ...issue.path], message: issue.message });
    }
    if (s.netns) {
      const ues = new Set([
        ...ids,
        ...Array.from({ length: s.ues.unsubscribed }, (_, i) => `${s.ues.idPrefix}x${i + 1}`),
      ]);
      const others = new Set(['kms', 'prose-function', 'group-manager', 'key-server']);
      for (const issue of checkNetnsScenario(s.netns, ues, others, s.duration))
        ctx.addIssue({ code: 'custom', path: ['netns', ...issue.path], message: issue.message });
    }
    if (s.pc5.medium === 'libp2p' && s.roles.ue > LIBP2P_MAX_UES) {
      ctx.addIssue({
        code: 'custom',
        path: ['pc5', 'medium'],
        message: `the libp2p medium connects UEs in a full mesh: at most ${LIBP2P_MAX_UES} UEs (this scenario has ${s.roles.ue})`,
      });
    }
    if (s.pc5.medium === 'libp2p' && s.adversary) {
      ctx.addIssue({
        code: 'custom',
        path: ['pc5', 'medium'],
        message: 'the adversary listens on UDP multicast only: it would hear nothing of libp2p UEs',
      });
    }
    if (s.pc5.medium === 'libp2p' && s.netns) {
      ctx.addIssue({
        code: 'custom',
        path: ['pc5', 'medium'],
        message: 'the libp2p medium listens on loopback only: it cannot run with netns',
      });
    }
    const seen = new Set<string>();
    s.groups.forEach((g, i) => {
      if (seen.has(g.id))
        ctx.addIssue({ code: 'custom', path: ['groups', i, 'id'], message: `duplicate group id ${g.id}` });
      seen.add(g.id);
    });
  });

export type Scenario = z.output<typeof scenarioSchema>;

/** A scenario file that failed to load: names the file, the field path and the reason. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  constructor(
    readonly file: string,
    readonly issues: { path: string; message: string }[],
  ) {
    super(
      `invalid scenario ${file}:\n${issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n')}`,
    );
  }
}

/** Validates an already-parsed scenario object. */
export function validateScenario(raw: unknown, file = '<inline>'): Scenario {
  const r = scenarioSchema.safeParse(raw);
  if (!r.success) {
    throw new ScenarioError(
      file,
      r.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    );
  }
  return r.data;
}

/** Command-line overrides applied before validation (so they are validated too). */
export interface ScenarioOverrides {
  ues?: number;
  duration?: string;
}

/** Reads, parses and validates a scenario YAML file. */
export function loadScenario(file: string, overrides: ScenarioOverrides = {}): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ScenarioError(file, [{ path: '', message: `cannot read file: ${(e as Error).message}` }]);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ScenarioError(
      file,
      doc.errors.map((e) => ({ path: '', message: `YAML syntax: ${e.message.split('\n')[0]}` })),
    );
  }
  const raw: unknown = doc.toJS();
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const o = raw as Record<string, unknown>;
    if (overrides.ues !== undefined) o.roles = { ...(o.roles as object), ue: overrides.ues };
    if (overrides.duration !== undefined) o.duration = overrides.duration;
  }
  return validateScenario(raw, file);
}

/** The built-in default scenario shipped in scenarios/default.yaml. */
export const DEFAULT_SCENARIO_FILE = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'scenarios',
  'default.yaml',
);

/** UE ids of a scenario: subscribed ones first, then the unsubscribed extras. */
export function ueIds(s: Scenario): { subscribed: string[]; unsubscribed: string[] } {
  const subscribed = Array.from({ length: s.roles.ue }, (_, i) => `${s.ues.idPrefix}${i + 1}`);
  const unsubscribed = Array.from({ length: s.ues.unsubscribed }, (_, i) => `${s.ues.idPrefix}x${i + 1}`);
  return { subscribed, unsubscribed };
}

/** Member UE ids of each group. */
export function groupMembers(s: Scenario): Map<string, string[]> {
  const { subscribed } = ueIds(s);
  const out = new Map<string, string[]>();
  for (const g of s.groups) {
    if (g.members === 'all') out.set(g.id, subscribed);
    else if (Array.isArray(g.members)) out.set(g.id, g.members);
    else out.set(g.id, subscribed.slice(0, g.members.count));
  }
  return out;
}
