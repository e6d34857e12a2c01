// Pre-provisioned group secret over PC3 (TR 33.833 sol. #3.5): the ProSe Function configures a group key and
// its algorithm for the groups the scenario puts under this solution, and hands it to registered members on
// request (group_key_request). Each key has a period of use; when it expires the next request gets a new one
// (reconfiguration before expiry, at 80% of the period). The key takes the GMK's place in the key hierarchy (docs/group.md).
import { z } from 'zod';
import { toHex } from '../../crypto-core/bytes.js';
import { RotatingGroupKey } from '../../procedures/group/gmk-distribution.js';
import type { Pc3Message, Pc3Reply } from '../../transport/pc3/messages.js';
import type { Pc3Peer } from '../../transport/pc3/server.js';

export const groupKeysConfigSchema = z
  .array(
    z
      .object({
        groupId: z.string(),
        periodMs: z.number().int().min(1000),
        algorithm: z.enum(['nea2-nia2', 'nea1-nia1', 'nea3-nia3']).default('nea2-nia2'),
        /** INSECURE (threat-matrix control): any registered UE gets the key, member of the group or not. */
        insecure: z.object({ anyoneMayFetch: z.boolean() }).strict().optional(),
      })
      .strict(),
  )
  .max(64);
export type GroupKeysConfig = z.output<typeof groupKeysConfigSchema>;

export class GroupKeyService {
  private readonly keys = new Map<string, RotatingGroupKey>();
  private issuedCount = 0;
  /** Keys handed to a UE that is not a member (only under the anyoneMayFetch control): the matrix's ground truth. */
  issuedToNonMembers = 0;

  constructor(
    private readonly cfg: GroupKeysConfig,
    /** Is `ueId` a registered member of `groupId`? */
    private readonly isMember: (groupId: string, ueId: string) => boolean,
    private readonly now: () => number = Date.now,
    /** Is `ueId` registered (the anyoneMayFetch control still wants a registered UE)? */
    private readonly isRegistered: (ueId: string) => boolean = () => false,
  ) {
    for (const g of cfg) this.keys.set(g.groupId, new RotatingGroupKey(g.groupId, 'pc3', g.periodMs));
  }

  get issued(): number {
    return this.issuedCount;
  }

  get rotated(): number {
    let n = 0;
    for (const k of this.keys.values()) n += k.rotations;
    return n;
  }

  handle(msg: Pc3Message, peer: Pc3Peer): Pc3Reply | undefined {
    if (msg.type !== 'group_key_request') return undefined;
    const g = this.cfg.find((x) => x.groupId === msg.body.groupId);
    if (!g) return { type: 'group_key_reject', body: { cause: 'unknown_group', detail: 'no PC3 group key' } };
    const member = peer.role === 'ue' && this.isMember(g.groupId, peer.nodeId);
    const insecure =
      peer.role === 'ue' && g.insecure?.anyoneMayFetch === true && this.isRegistered(peer.nodeId);
    if (!member && !insecure)
      return { type: 'group_key_reject', body: { cause: 'not_member', detail: 'not a member' } };
    const k = this.keys.get(g.groupId)!.current(this.now());
    this.issuedCount++;
    if (!member) this.issuedToNonMembers++;
    return {
      type: 'group_key_response',
      body: {
        groupId: g.groupId,
        gmkId: k.gmkId,
        key: toHex(k.gmk),
        algorithm: g.algorithm,
        activatedAtMs: k.activatedAtMs,
        expiresAtMs: k.expiresAtMs,
      },
    };
  }
}
