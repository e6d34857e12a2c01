// Group manager role (TR 33.833 sol. #3.1, standard GMK distribution): holds the group identity's MIKEY-SAKKE
// keys (from the KMS over PC3/mutual TLS), generates each group's GMK, and serves every member its own I_MESSAGE
// over PC3 (long poll: the member asks for a GMK newer than the one it has; the answer comes when there is one).
// Rekeys on period expiry and on member removal; a removed member is refused and never gets the new GMK.
// SAKKE encapsulation and ECCSI signing run in nodes/crypto-pool.ts. See docs/group.md.
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { toHex } from '../../crypto-core/bytes.js';
import { parseBundle, type UeKeyBundle, validateBundle } from '../../crypto-core/kms-bundle.js';
import { ueIdentityUri } from '../../procedures/direct-link/kd-identity.js';
import {
  type DistributorEvent,
  GmkDistributor,
  groupIdentityUri,
} from '../../procedures/group/gmk-distribution.js';
import { deliverGmk } from '../../procedures/group/group-crypto.js';
import type { Pc3Message, Pc3Reply } from '../../transport/pc3/messages.js';
import type { Pc3Peer } from '../../transport/pc3/server.js';
import { CryptoPool } from '../crypto-pool.js';
import { poolGroupCrypto } from '../group-crypto-pool.js';
import { enrollWithKms, kmsKeysClient, nodePc3Server } from '../runtime/enrollment.js';
import type { RoleContext, RoleInstance } from './role.js';

const endpoint = z.object({ host: z.string(), port: z.number().int().min(1).max(65535) }).strict();

export const groupManagerConfigSchema = z
  .object({
    kmsKeys: endpoint,
    /** Worker threads for SAKKE/ECCSI (1..8). */
    poolSize: z.number().int().min(1).max(8).default(2),
    groups: z
      .array(
        z
          .object({
            groupId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
            members: z.array(z.string()).max(5000),
            gmkPeriodMs: z.number().int().min(1000),
            /** Member removals, relative to the start of the traffic phase. */
            removals: z.array(z.object({ member: z.string(), afterMs: z.number().int().min(0) }).strict()),
          })
          .strict(),
      )
      .max(64),
  })
  .strict();
export type GroupManagerConfig = z.output<typeof groupManagerConfigSchema>;

/** How long a gmk_request waits for a newer GMK before it is answered empty. */
const LONG_POLL_MS = 8000;
const TICK_MS = 250;

interface GroupState {
  distributor: GmkDistributor;
  bundle: UeKeyBundle;
  /** Latest I_MESSAGE per member URI. */
  outbox: Map<string, { gmkId: number; bytes: string }>;
  waiters: Map<string, Set<() => void>>;
  rekeys: { reason: string; gmkId: number; members: number; readyMs?: number }[];
  removed: { member: string; atMs: number }[];
}

export async function start(ctx: RoleContext): Promise<RoleInstance> {
  const { config, log, metrics } = ctx;
  const cfg = groupManagerConfigSchema.parse(config.roleConfig);
  const creds = await enrollWithKms(ctx);
  let errors = 0;
  const kms = kmsKeysClient(cfg.kmsKeys, creds, metrics, 30_000);
  const groups = new Map<string, GroupState>();
  try {
    for (const g of cfg.groups) {
      // The group identity's keys: the KMS issues them to a group manager asking for that group.
      const reply = await kms.request('kms_bundle_request', { groupId: g.groupId });
      if (reply.type !== 'kms_bundle_response') throw new Error(`KMS key service answered ${reply.type}`);
      const bundle = parseBundle(reply.body.bundle);
      validateBundle(bundle, new Date());
      const distributor = new GmkDistributor({
        groupId: g.groupId,
        groupUri: groupIdentityUri(g.groupId),
        kmsUri: bundle.kmsUri,
        periodMs: g.gmkPeriodMs,
      });
      for (const m of g.members) distributor.addMember(ueIdentityUri(m));
      groups.set(g.groupId, {
        distributor,
        bundle,
        outbox: new Map(),
        waiters: new Map(),
        rekeys: [],
        removed: [],
      });
    }
  } finally {
    await kms.close();
  }
  const pool = new CryptoPool(cfg.poolSize);
  const first = [...groups.values()][0];
  if (first) await pool.warm({ zS: first.bundle.Z_S, kpak: first.bundle.KPAK });

  const wake = (st: GroupState, uri: string) => {
    const ws = st.waiters.get(uri);
    if (!ws) return;
    st.waiters.delete(uri);
    for (const w of ws) w();
  };

  // Produces every member's I_MESSAGE for the current GMK (in the pool), as each is ready the member is woken.
  const distribute = async (st: GroupState, ev: DistributorEvent & { type: 'rekey' }) => {
    const t0 = performance.now();
    const entry: GroupState['rekeys'][number] = {
      reason: ev.reason,
      gmkId: ev.record.gmkId,
      members: st.distributor.members().length,
    };
    st.rekeys.push(entry);
    log.info(
      { groupId: st.distributor.groupId, reason: ev.reason, members: entry.members },
      'GMK rekey: distributing',
    );
    const crypto = poolGroupCrypto(pool, st.bundle);
    const now = Date.now();
    await Promise.all(
      st.distributor.jobs(now).map(async (job) => {
        try {
          const bytes = await deliverGmk(st.distributor, job, crypto, now);
          // A newer rekey may have finished first, or the member may have been removed meanwhile.
          if (st.distributor.current()?.gmkId !== job.record.gmkId || !st.distributor.isMember(job.memberUri))
            return;
          st.outbox.set(job.memberUri, { gmkId: job.record.gmkId, bytes: toHex(bytes) });
          wake(st, job.memberUri);
        } catch (e) {
          errors++;
          log.warn({ err: (e as Error).message }, 'I_MESSAGE production failed');
        }
      }),
    );
    entry.readyMs = Math.round((performance.now() - t0) * 1000) / 1000;
    metrics.groupGmkDistributionSeconds.observe(
      { solution: 'standard', scope: 'group' },
      (performance.now() - t0) / 1000,
    );
  };

  const handle = async (st: GroupState, events: DistributorEvent[]) => {
    for (const ev of events) if (ev.type === 'rekey') await distribute(st, ev);
  };

  for (const st of groups.values()) await handle(st, st.distributor.tick(Date.now()));

  const timers: NodeJS.Timeout[] = [];
  const ticker = setInterval(() => {
    for (const st of groups.values()) {
      // Rekey at 80% of the period of use, so members hold the next GMK before the current one expires.
      const period = st.distributor.current()
        ? st.distributor.current()!.expiresAtMs - st.distributor.current()!.activatedAtMs
        : 0;
      void handle(st, st.distributor.tick(Date.now(), Math.floor(period * 0.2)));
    }
  }, TICK_MS);
  timers.push(ticker);

  const removeMember = (groupId: string, member: string) => {
    const st = groups.get(groupId);
    if (!st) return;
    const uri = ueIdentityUri(member);
    const events = st.distributor.removeMember(uri, Date.now());
    st.outbox.delete(uri);
    st.removed.push({ member, atMs: Date.now() });
    wake(st, uri); // its pending long poll is answered not_member
    log.info({ groupId, member }, 'member removed; rekeying');
    void handle(st, events);
  };

  const handler = async (msg: Pc3Message, peer: Pc3Peer): Promise<Pc3Reply> => {
    if (msg.type !== 'gmk_request')
      return {
        type: 'error',
        body: { cause: 'unexpected_message', detail: `${msg.type} is not served here` },
      };
    const st = groups.get(msg.body.groupId);
    if (!st) return { type: 'gmk_reject', body: { cause: 'unknown_group', detail: 'no such group' } };
    const uri = ueIdentityUri(peer.nodeId);
    const answer = (): Pc3Reply | undefined => {
      if (!st.distributor.isMember(uri))
        return { type: 'gmk_reject', body: { cause: 'not_member', detail: 'not a member of this group' } };
      const o = st.outbox.get(uri);
      if (o && o.gmkId !== msg.body.haveGmkId)
        return { type: 'gmk_response', body: { groupId: msg.body.groupId, imessages: [o.bytes] } };
      return undefined;
    };
    const now = answer();
    if (now) return now;
    // Long poll: wait for this member's next I_MESSAGE (or its removal), at most LONG_POLL_MS.
    await new Promise<void>((resolve) => {
      const set = st.waiters.get(uri) ?? new Set();
      st.waiters.set(uri, set);
      const done = () => {
        clearTimeout(t);
        set.delete(done);
        resolve();
      };
      const t = setTimeout(done, LONG_POLL_MS);
      set.add(done);
    });
    return answer() ?? { type: 'gmk_response', body: { groupId: msg.body.groupId, imessages: [] } };
  };

  const server = nodePc3Server(ctx, creds, {
    port: config.ports?.pc3 ?? 0,
    allowedRoles: ['ue'],
    acceptTypes: ['gmk_request'],
    handler,
  });
  const { port } = await server.listen();
  log.info({ port, groups: [...groups.keys()] }, 'group manager listening');

  let trafficStarted = false;
  return {
    endpoints: { pc3: port },
    command: (name) => {
      if (name !== 'start-traffic' || trafficStarted) return;
      trafficStarted = true;
      for (const g of cfg.groups)
        for (const r of g.removals)
          timers.push(setTimeout(() => removeMember(g.groupId, r.member), r.afterMs));
    },
    status: () => ({
      provisioned: true,
      errors,
      details: {
        groups: Object.fromEntries(
          [...groups].map(([id, st]) => [
            id,
            { members: st.distributor.members().length, rekeys: st.rekeys, removed: st.removed },
          ]),
        ),
      },
    }),
    stop: async () => {
      for (const t of timers) {
        clearInterval(t);
        clearTimeout(t);
      }
      for (const st of groups.values()) for (const uri of [...st.waiters.keys()]) wake(st, uri);
      await server.close();
      await pool.close();
    },
  };
}
