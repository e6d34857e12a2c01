// Scenario section `groupSecurity` (docs/group.md): per group the key solution (standard GMK distribution by a
// group manager, TR 33.833 sol. #3.1, or a pre-provisioned group key over PC3, sol. #3.5), member removals, and
// the group calls. Absent: no group security (existing scenarios are unchanged). Kept apart from scenario.ts so
// the schema has no import cycle; scenario.ts adds it with two lines.
import { z } from 'zod';

const duration = z
  .union([
    z.number().nonnegative(),
    z.string().regex(/^\d+(\.\d+)?(ms|s|m|h)$/, 'a duration like 500ms, 30s, 2m or 1h'),
  ])
  .transform((v) => {
    if (typeof v === 'number') return Math.round(v * 1000);
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v)!;
    return Math.round(
      Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'],
    );
  });
const nodeId = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/);

export const groupSecuritySchema = z
  .object({
    groups: z
      .array(
        z
          .object({
            /** A group of the scenario's `groups`. */
            group: nodeId,
            /**
             * standard: GMK by MIKEY-SAKKE from the group manager (sol. #3.1); pc3: ProSe Function key (sol. #3.5);
             * adhoc: the creator sends the GMK over a PC5 one-to-one link to each member (no network);
             * network: a key server pushes the group key under GBA push (sol. #3.2).
             */
            solution: z.enum(['standard', 'pc3', 'adhoc', 'network']).default('standard'),
            /** network only: white-list (the key server's list) or invitation (the owner invites members). */
            variant: z.enum(['whitelist', 'invitation']).optional(),
            /** network invitation only: the member that owns the group and invites (default: the first member). */
            owner: nodeId.optional(),
            /** network invitation only: the members the owner invites (default: every member). */
            invite: z.array(nodeId).max(5000).optional(),
            /** adhoc only: the UE that creates the group and distributes its GMK (default: the first member). */
            creator: nodeId.optional(),
            /** GMK / group key period of use; rekeyed (standard) or reconfigured (pc3) when it ends. */
            gmkPeriod: duration.default(3_600_000),
            /** pc3 only: the algorithm the ProSe Function configures with the key. */
            algorithm: z.enum(['nea2-nia2', 'nea1-nia1', 'nea3-nia3']).default('nea2-nia2'),
            /**
             * Group media integrity: true (default) adds a 128-NIA2 MAC-I to every media PDU so tampering is detected;
             * false is TS 33.303's one-to-many profile, ciphering only (docs/group.md, "Media protection").
             */
            mediaIntegrity: z.boolean().default(true),
            /**
             * Group media cipher: 128-NEA2 (TS 33.303, default) or AES-128-GCM (prosec option: ciphering and a
             * 16-octet tag in one pass, node:crypto), which always authenticates (mediaIntegrity must stay true).
             */
            mediaCipher: z.enum(['128-nea2', 'aes-128-gcm']).default('128-nea2'),
            /**
             * INSECURE, for the threat matrix's controls only (`prosec attack`): NEA0 (null) media ciphering, no
             * media replay window at the receivers, no GSK-ID replay memory for call-inits; pc3 only: the ProSe
             * Function hands the group key to any registered UE, member or not (`anyoneMayFetch`); standard only: members
             * install a GMK from an I_MESSAGE without verifying its ECCSI signature (`skipGmkSignatureCheck`).
             */
            insecure: z
              .object({
                nullCipher: z.boolean().default(false),
                noReplayProtection: z.boolean().default(false),
                noCallReplayProtection: z.boolean().default(false),
                anyoneMayFetch: z.boolean().default(false),
                skipGmkSignatureCheck: z.boolean().default(false),
              })
              .strict()
              .default({
                nullCipher: false,
                noReplayProtection: false,
                noCallReplayProtection: false,
                anyoneMayFetch: false,
                skipGmkSignatureCheck: false,
              }),
            /** standard only: members removed (and the group rekeyed) this long after the traffic phase starts. */
            remove: z
              .array(z.object({ member: nodeId, after: duration }).strict())
              .max(100)
              .default([]),
          })
          .strict(),
      )
      .min(1)
      .max(64),
    /** Group calls: the initiator sends the call-init then media for `duration`. */
    calls: z
      .array(
        z
          .object({
            group: nodeId,
            initiator: nodeId,
            at: duration,
            duration: duration.default(1000),
          })
          .strict(),
      )
      .max(1000)
      .default([]),
    media: z
      .object({
        rate: z.number().min(0).max(2000).default(50),
        payloadBytes: z.number().int().min(16).max(1400).default(200),
      })
      .strict()
      .default({ rate: 50, payloadBytes: 200 }),
    /** Worker threads of the group manager for SAKKE/ECCSI. */
    groupManagerWorkers: z.number().int().min(1).max(8).default(2),
  })
  .strict();
export type GroupSecurityScenario = z.output<typeof groupSecuritySchema>;

/** Cross-field checks: groups exist, initiators and removed members belong to their group. */
export function groupSecurityIssues(
  gs: GroupSecurityScenario | undefined,
  members: Map<string, string[]>,
): { path: (string | number)[]; message: string }[] {
  if (!gs) return [];
  const out: { path: (string | number)[]; message: string }[] = [];
  const seen = new Set<string>();
  gs.groups.forEach((g, i) => {
    if (!members.has(g.group)) out.push({ path: ['groups', i, 'group'], message: `no group ${g.group}` });
    if (seen.has(g.group))
      out.push({ path: ['groups', i, 'group'], message: `group ${g.group} listed twice` });
    seen.add(g.group);
    if ((g.solution === 'pc3' || g.solution === 'network') && g.remove.length > 0)
      out.push({
        path: ['groups', i, 'remove'],
        message: 'member removal is modelled for standard and adhoc groups only',
      });
    if (g.variant !== undefined && g.solution !== 'network')
      out.push({ path: ['groups', i, 'variant'], message: 'variant is for network groups only' });
    for (const f of ['owner', 'invite'] as const) {
      if (g[f] !== undefined && (g.solution !== 'network' || g.variant !== 'invitation'))
        out.push({
          path: ['groups', i, f],
          message: `${f} is for network groups of the invitation variant only`,
        });
    }
    for (const [k, m] of [g.owner, ...(g.invite ?? [])].entries()) {
      if (m !== undefined && !members.get(g.group)?.includes(m))
        out.push({
          path: k === 0 ? ['groups', i, 'owner'] : ['groups', i, 'invite', k - 1],
          message: `${m} is not in ${g.group}`,
        });
    }
    if (g.creator !== undefined && g.solution !== 'adhoc')
      out.push({ path: ['groups', i, 'creator'], message: 'creator is for adhoc groups only' });
    const creator = g.solution === 'adhoc' ? (g.creator ?? members.get(g.group)?.[0]) : undefined;
    if (g.creator !== undefined && !members.get(g.group)?.includes(g.creator))
      out.push({ path: ['groups', i, 'creator'], message: `${g.creator} is not in ${g.group}` });
    g.remove.forEach((r, k) => {
      if (r.member === creator)
        out.push({
          path: ['groups', i, 'remove', k, 'member'],
          message: `${r.member} creates ${g.group} and cannot be removed from it`,
        });
    });
    if (g.mediaCipher === 'aes-128-gcm' && !g.mediaIntegrity)
      out.push({
        path: ['groups', i, 'mediaIntegrity'],
        message: 'aes-128-gcm always authenticates the media: mediaIntegrity false is not possible with it',
      });
    g.remove.forEach((r, k) => {
      if (!members.get(g.group)?.includes(r.member))
        out.push({ path: ['groups', i, 'remove', k, 'member'], message: `${r.member} is not in ${g.group}` });
    });
  });
  gs.calls.forEach((c, i) => {
    if (!seen.has(c.group))
      out.push({ path: ['calls', i, 'group'], message: `${c.group} has no groupSecurity` });
    else if (!members.get(c.group)?.includes(c.initiator))
      out.push({ path: ['calls', i, 'initiator'], message: `${c.initiator} is not in ${c.group}` });
  });
  return out;
}
