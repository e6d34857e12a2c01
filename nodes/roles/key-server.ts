// Key server role (TR 33.833 sol. #3.2, network-supported group key distribution; docs/group.md): a NAF that
// hands members the group key under GBA push (procedures/group/gba-push.ts). It holds the subscribers' AKA
// credentials for the emulated HSS/BSF part of GBA push (TS 33.223 puts the vector in the BSF; here BSF and NAF
// share one process, a documented simplification). Two variants per group:
//   whitelist  - the key server has the list of members; a member asks, gets the push;
//   invitation - the group owner (a member UE) invites members; a member asking before its invitation waits (long
//                poll) and only invited members ever get the push.
// Every push uses a fresh authentication vector (SQN = SEQ || IND, TS 33.102 C.3).
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { toHex } from '../../crypto-core/bytes.js';
import { nafId } from '../../crypto-core/ts33220-gba.js';
import { Hss } from '../../procedures/eap/hss.js';
import {
  buildGroupKeyPush,
  DEFAULT_NAF_FQDN,
  impiOf,
  PROSEC_UA_PROTOCOL_ID,
} from '../../procedures/group/gba-push.js';
import { RotatingGroupKey } from '../../procedures/group/gmk-distribution.js';
import type { Pc3Message, Pc3Reply } from '../../transport/pc3/messages.js';
import type { Pc3Peer } from '../../transport/pc3/server.js';
import { enrollWithKms, nodePc3Server } from '../runtime/enrollment.js';
import type { RoleContext, RoleInstance } from './role.js';

export const keyServerConfigSchema = z
  .object({
    nafFqdn: z.string().default(DEFAULT_NAF_FQDN),
    groups: z
      .array(
        z
          .object({
            groupId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
            variant: z.enum(['whitelist', 'invitation']),
            /** whitelist: the white-list; invitation: the members the owner may invite. */
            members: z.array(z.string()).max(5000),
            owner: z.string().optional(),
            periodMs: z.number().int().min(1000),
          })
          .strict(),
      )
      .max(64),
    /** Subscribers (secrets: never logged): node id, IMSI, K, OPc (hex). */
    subscribers: z
      .array(
        z
          .object({
            ueId: z.string(),
            imsi: z.string().regex(/^\d{6,15}$/),
            k: z.string().regex(/^[0-9a-f]{32}$/),
            opc: z.string().regex(/^[0-9a-f]{32}$/),
          })
          .strict(),
      )
      .max(5000),
  })
  .strict();
export type KeyServerConfig = z.output<typeof keyServerConfigSchema>;

const LONG_POLL_MS = 8000;

interface GroupState {
  cfg: KeyServerConfig['groups'][number];
  key: RotatingGroupKey;
  allowed: Set<string>;
  invited: Set<string>;
  waiters: Set<() => void>;
}

export type KeyServerRefusal =
  | 'not_member'
  | 'not_invited'
  | 'unknown_group'
  | 'no_subscription'
  | 'not_owner';

/** The key server's PC3 service (sans socket): pushes, invitations, refusals. The role below wires it to TLS. */
export class KeyServerService {
  private readonly naf: Uint8Array;
  private readonly hss: Hss;
  private readonly imsiOf: Map<string, string>;
  readonly groups: Map<string, GroupState>;
  readonly stats = { pushes: 0, invites: 0, refused: {} as Record<string, number>, pending: 0 };

  constructor(
    cfg: KeyServerConfig,
    private readonly hooks: {
      pushed?: (seconds: number) => void;
      refused?: (cause: KeyServerRefusal) => void;
      log?: (msg: string, fields: Record<string, unknown>) => void;
    } = {},
    private readonly longPollMs = LONG_POLL_MS,
  ) {
    this.naf = nafId(cfg.nafFqdn, PROSEC_UA_PROTOCOL_ID);
    // AMF with the separation bit off: these vectors are for GBA, not E-UTRAN/AKA' (TS 33.102 Annex H).
    this.hss = new Hss(cfg.subscribers.map((s) => ({ imsi: s.imsi, k: s.k, opc: s.opc, amf: '0000' })));
    this.imsiOf = new Map(cfg.subscribers.map((s) => [s.ueId, s.imsi]));
    this.groups = new Map(
      cfg.groups.map((g) => [
        g.groupId,
        {
          cfg: g,
          key: new RotatingGroupKey(g.groupId, 'network', g.periodMs),
          allowed: new Set(g.members),
          invited: new Set(),
          waiters: new Set(),
        },
      ]),
    );
  }

  get vectors(): number {
    return this.hss.vectors;
  }

  private refuse(cause: KeyServerRefusal, detail: string): Pc3Reply {
    this.stats.refused[cause] = (this.stats.refused[cause] ?? 0) + 1;
    this.hooks.refused?.(cause);
    return { type: 'gba_key_reject', body: { cause, detail } };
  }

  private push(g: GroupState, imsi: string): Pc3Reply {
    const t0 = performance.now();
    const av = this.hss.vector(imsi)!;
    const bytes = buildGroupKeyPush({
      av,
      impi: impiOf(imsi),
      naf: this.naf,
      record: g.key.current(Date.now()),
    });
    this.stats.pushes++;
    this.hooks.pushed?.((performance.now() - t0) / 1000);
    return { type: 'gba_key_push', body: { groupId: g.cfg.groupId, push: toHex(bytes) } };
  }

  async handle(msg: Pc3Message, peer: Pc3Peer): Promise<Pc3Reply> {
    if (msg.type !== 'gba_key_request' && msg.type !== 'gba_invite')
      return {
        type: 'error',
        body: { cause: 'unexpected_message', detail: `${msg.type} is not served here` },
      };
    const g = this.groups.get(msg.body.groupId);
    if (!g) return this.refuse('unknown_group', 'no network-supported group of that name');
    if (msg.type === 'gba_invite') {
      if (g.cfg.variant !== 'invitation' || g.cfg.owner !== peer.nodeId)
        return this.refuse('not_owner', 'only the group owner invites, in the invitation variant');
      let n = 0;
      for (const m of msg.body.members) {
        if (!g.allowed.has(m) || g.invited.has(m)) continue;
        g.invited.add(m);
        n++;
      }
      this.stats.invites += n;
      for (const w of [...g.waiters]) w();
      this.hooks.log?.('members invited by the group owner', { groupId: g.cfg.groupId, invited: n });
      return { type: 'gba_invite_response', body: { groupId: g.cfg.groupId, invited: n } };
    }
    const imsi = this.imsiOf.get(peer.nodeId);
    if (!imsi) return this.refuse('no_subscription', 'no subscription for this UE');
    if (!g.allowed.has(peer.nodeId)) return this.refuse('not_member', 'not on the group list');
    if (g.cfg.variant === 'whitelist' || g.invited.has(peer.nodeId) || g.cfg.owner === peer.nodeId)
      return this.push(g, imsi);
    // Invitation variant, not invited yet: wait for the owner's invitation (bounded), then answer.
    this.stats.pending++;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        g.waiters.delete(done);
        resolve();
      };
      const t = setTimeout(done, this.longPollMs);
      g.waiters.add(done);
    });
    this.stats.pending--;
    if (g.invited.has(peer.nodeId)) return this.push(g, imsi);
    return { type: 'gba_key_pending', body: { groupId: g.cfg.groupId } };
  }

  /** Answers every waiting long poll (shutdown). */
  wakeAll(): void {
    for (const g of this.groups.values()) for (const w of [...g.waiters]) w();
  }
}

export async function start(ctx: RoleContext): Promise<RoleInstance> {
  const { config, log, metrics } = ctx;
  const cfg = keyServerConfigSchema.parse(config.roleConfig);
  const creds = await enrollWithKms(ctx);
  const svc = new KeyServerService(cfg, {
    pushed: (s) => metrics.keySetupSeconds.observe({ procedure: 'gba_push', method: 'gba', result: 'ok' }, s),
    refused: () =>
      metrics.keySetupSeconds.observe({ procedure: 'gba_push', method: 'gba', result: 'failed' }, 0),
    log: (msg, fields) => log.info(fields, msg),
  });
  const server = nodePc3Server(ctx, creds, {
    port: config.ports?.pc3 ?? 0,
    allowedRoles: ['ue'],
    acceptTypes: ['gba_key_request', 'gba_invite'],
    handler: (msg, peer) => svc.handle(msg, peer),
  });
  const { port } = await server.listen();
  log.info({ port, groups: [...svc.groups.keys()] }, 'key server listening');
  return {
    endpoints: { pc3: port },
    status: () => ({
      provisioned: true,
      errors: 0,
      details: {
        ...svc.stats,
        vectors: svc.vectors,
        groups: Object.fromEntries(
          [...svc.groups].map(([id, g]) => [
            id,
            { variant: g.cfg.variant, invited: g.invited.size, rotations: g.key.rotations },
          ]),
        ),
      },
    }),
    stop: async () => {
      svc.wakeAll();
      await server.close();
    },
  };
}
